"""Timestamps every message of the benchmarked channels and appends them as JSON lines.

Usage: python -m bench.subscriber REDIS_URL OUTFILE CHANNEL... One connection and one thread
per channel, so no program's message waits behind another's. Prints `ready` on stderr once
every subscription is confirmed; SIGTERM ends it with exit code 0.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from types import FrameType
from typing import IO

import redis


class Sink:
    """One JSON line per message, flushed at once so the benchmark can tail the file."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, channel: str, received: float, data: bytes) -> None:
        line = json.dumps({"channel": channel, "received": received, "data": data.decode()})
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


def listen(
    url: str, channel: str, sink: Sink, subscribed: threading.Semaphore, stop: threading.Event
) -> None:
    """Receive `channel` until `stop`; `subscribed` is released once Redis confirmed it."""
    client = redis.Redis.from_url(url)
    pubsub = client.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe(channel)
    while not stop.is_set():
        message = pubsub.get_message(timeout=0.2)
        if message is None:
            continue
        received = time.time()
        if message["type"] == "message":
            sink.write(channel, received, message["data"])
        elif message["type"] == "subscribe":
            subscribed.release()
    pubsub.close()
    client.close()


def main(url: str, path: str, channels: list[str]) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    subscribed = threading.Semaphore(0)
    with open(path, "a", encoding="utf-8") as stream:
        sink = Sink(stream)
        threads = [
            threading.Thread(target=listen, args=(url, channel, sink, subscribed, stop))
            for channel in channels
        ]
        for thread in threads:
            thread.start()
        confirmed = all(subscribed.acquire(timeout=10) for _ in channels)
        print("ready" if confirmed else "subscriptions not confirmed", file=sys.stderr, flush=True)
        if not confirmed:
            stop.set()
        while not stop.wait(0.5):
            pass
        for thread in threads:
            thread.join()
    return 0 if confirmed else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
