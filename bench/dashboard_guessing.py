"""How fast one client can guess DASHBOARD_TOKEN, and what many client addresses cost.

    PYTHONPATH=. python -m bench.dashboard_guessing [--seconds S] [--addresses N] [--json PATH]

The dashboard runs as its own process (`python -m dashboard`, loopback, a 32-character
token) against a throwaway redis-server. For `--seconds` (default 5) each, one keep-alive
httpx client sends wrong `Authorization: Bearer` guesses, then wrong login-form posts, as
fast as it can, one at a time. Per kind: requests per second, and guesses *checked* per
second (answered 401: the token was compared; a 429 was refused unread). Then `--addresses`
(default 5,000) clients, each from its own loopback source address (127.0.x.y: Linux routes
all of 127.0.0.0/8 to lo), send one wrong guess each: the dashboard's RSS before and after
shows what a client rotating addresses costs it.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.dashboard import wait_listening
from bench.procs import BenchError, Child, clean_env, free_port, start_redis

TOKEN = "bench-token-0123456789abcdefghij"


def hammer(send: Callable[[], httpx.Response], seconds: float) -> dict[str, Any]:
    """`send()` back to back for `seconds`: requests/s, checked guesses/s, statuses."""
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        statuses[send().status_code] += 1
    total = sum(statuses.values())
    return {
        "seconds": round(elapsed, 2),
        "requests_per_s": round(total / elapsed, 1),
        "checked_per_s": round(statuses[401] / elapsed, 2),
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
    }


def source_address(index: int) -> str:
    """The index-th loopback source address from 127.0.1.1 on (never 127.0.0.1)."""
    index += 256 + 1
    return f"127.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}"


def rotate(port: int, child: Child, addresses: int) -> dict[str, Any]:
    """One wrong guess from each of `addresses` source addresses; RSS before and after. A
    raw socket per address (an httpx client costs ~80 ms to make: an SSL context)."""
    before, _ = child.memory()
    statuses: Counter[int] = Counter()
    request = (
        b"GET /api/fleet HTTP/1.1\r\nHost: dashboard\r\nAuthorization: Bearer wrong\r\n"
        b"Connection: close\r\n\r\n"
    )
    started = time.perf_counter()
    for index in range(addresses):
        with socket.create_connection(
            ("127.0.0.1", port), timeout=10, source_address=(source_address(index), 0)
        ) as sock:
            sock.sendall(request)
            status_line = sock.makefile("rb").readline()
        statuses[int(status_line.split()[1])] += 1
    after, _ = child.memory()
    return {
        "addresses": addresses,
        "seconds": round(time.perf_counter() - started, 1),
        "rss_before_mb": round(before / 1e6, 1),
        "rss_after_mb": round(after / 1e6, 1),
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
    }


def measure(port: int, child: Child, seconds: float, addresses: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=10) as http:
        bearer = hammer(
            lambda: http.get("/api/fleet", headers={"Authorization": "Bearer wrong"}), seconds
        )
    # Another source address: the form's figures do not start behind the Bearer's throttle.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=url, transport=transport, timeout=10) as http:
        form = hammer(lambda: http.post("/login", data={"token": "wrong", "next": "/"}), seconds)
    return {"bearer": bearer, "form": form, "rotation": rotate(port, child, addresses)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per kind of guess")
    parser.add_argument("--addresses", type=int, default=5000, help="source addresses to rotate")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    logdir = Path(tempfile.mkdtemp(prefix="bench-dashboard-guessing-"))
    server, redis_url = start_redis(logdir)
    dashboard: Child | None = None
    try:
        port = free_port()
        env = clean_env(REDIS_URL=redis_url, PYTHONPATH=str(Path.cwd()), DASHBOARD_TOKEN=TOKEN)
        argv_ = [sys.executable, "-m", "dashboard", "--addr", f"127.0.0.1:{port}"]
        dashboard = Child("dashboard", argv_, env, logdir)
        url = f"http://127.0.0.1:{port}"
        wait_listening(url, dashboard)
        figures = measure(port, dashboard, args.seconds, args.addresses)
    except BenchError as exc:
        print(f"bench.dashboard_guessing: {exc}", file=sys.stderr)
        return 1
    finally:
        if dashboard is not None:
            dashboard.close()
        server.close()
    for kind in ("bearer", "form"):
        row = figures[kind]
        print(
            f"{kind:6}: {row['requests_per_s']:8.1f} requests/s, "
            f"{row['checked_per_s']:8.2f} guesses checked/s over {row['seconds']} s "
            f"(statuses {row['statuses']})"
        )
    spread = figures["rotation"]
    print(
        f"rotation: {spread['addresses']} addresses in {spread['seconds']} s, dashboard RSS "
        f"{spread['rss_before_mb']} -> {spread['rss_after_mb']} MB (statuses {spread['statuses']})"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
