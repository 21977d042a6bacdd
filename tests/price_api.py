"""A local HTTP server answering like CoinGecko's `simple/price`, scripted per coin.

Each request for a coin takes the next action of that coin's script (then `ok` forever):
`ok`, `429` or `429:<Retry-After value>`, `500`, `404`, `badjson`, `slow:<seconds>`
(then ok), `drip:<seconds>` (a body that never ends: a byte every so many seconds), and
large answers: `big:<bytes>` (with its Content-Length), `stream:<bytes>` (none: the body
ends when the connection closes), `gzip:<bytes>` (that many zero bytes, gzip-compressed).
`always` makes a script's last action repeat for ever. It records every request's time
and counts requests in flight (`max_active`) and bytes sent (`sent`).
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from typing_extensions import override

PRICES = {"bitcoin": 50000.5, "ethereum": 3000.25, "solana": 150.0}
CHUNK = b"[" + b"0," * 32767 + b"0"  # 64 kB of a JSON array that never ends


class PriceApi:
    def __init__(self) -> None:
        self.scripts: dict[str, list[str]] = {}
        self.requests: list[tuple[str, float]] = []
        self.active = 0
        self.max_active = 0
        self.sent = 0
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api._serve(self)

            @override
            def log_message(self, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def times(self, coin: str) -> list[float]:
        with self._lock:
            return [when for name, when in self.requests if name == coin]

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlsplit(handler.path).query)
        coin = query.get("ids", [""])[0]
        with self._lock:
            self.requests.append((coin, time.monotonic()))
            script = self.scripts.get(coin, [])
            action = script.pop(0) if script else "ok"
            if script == ["always"]:
                script.insert(0, action)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            self._answer(handler, coin, action)
        finally:
            with self._lock:
                self.active -= 1

    def _answer(self, handler: BaseHTTPRequestHandler, coin: str, action: str) -> None:
        kind, _, argument = action.partition(":")
        headers: dict[str, str] = {}
        if kind == "slow":
            time.sleep(float(argument))
        if kind in ("429", "500", "404"):
            if argument:
                headers["Retry-After"] = argument
            self._send(handler, int(kind), b'{"error": "scripted"}', headers)
        elif kind == "badjson":
            self._send(handler, 200, b"<html>not json</html>", headers)
        elif kind == "drip":
            self._drip(handler, float(argument))
        elif kind in ("big", "stream"):
            self._send_large(handler, int(argument), declared=kind == "big")
        elif kind == "gzip":
            headers["Content-Encoding"] = "gzip"
            self._send(handler, 200, gzip.compress(bytes(int(argument))), headers)
        else:
            price = PRICES.get(coin, 1.0)
            body = {coin: {"usd": price, "usd_market_cap": price * 1e6, "usd_24h_change": -1.5}}
            self._send(handler, 200, json.dumps(body).encode(), headers)

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        try:
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client went away (stopped reading, or its worker was stopped)

    @staticmethod
    def _drip(handler: BaseHTTPRequestHandler, every: float) -> None:
        """A body that never ends: one byte every `every` seconds, until the client leaves."""
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        try:
            while True:
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(every)
        except (BrokenPipeError, ConnectionResetError):
            return

    def _send_large(self, handler: BaseHTTPRequestHandler, size: int, *, declared: bool) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        if declared:
            handler.send_header("Content-Length", str(size))
        handler.end_headers()
        try:
            while size > 0:
                chunk = CHUNK[:size]
                handler.wfile.write(chunk)
                size -= len(chunk)
                with self._lock:
                    self.sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client stopped reading: what a bounded reader does


@contextmanager
def price_api() -> Iterator[PriceApi]:
    api = PriceApi()
    api._thread.start()
    try:
        yield api
    finally:
        api._server.shutdown()
        api._server.server_close()
