"""Trigger targets: publish → receipt lag per target, the worker against a hand-written floor.

  python -m bench.targets_lag [--fires 300]     all four targets on, one run, each target's
                                                lag p50/p99 against its floor (+ 1 ms at most)
  python -m bench.targets_lag --soak 300        no floor; NATS SIGKILLed and restarted at 1/3,
                                                Redis at 2/3: per target sent, received,
                                                doubled, lost, lag p50/p99

Needs redis-server and nats-server (Debian: /usr/sbin/nats-server). Results are printed as
Markdown and written to --out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

from bench.procs import BenchError, Child, clean_env, free_port, start_redis
from bench.target_receivers import (
    Receipts,
    jetstream,
    nats_core,
    redis_pubsub,
    redis_stream,
    wait_stream,
)
from bench.targets_report import TARGETS
from bench.targets_report import report as _report

ROOT = Path(__file__).resolve().parent.parent


def start_nats(logdir: Path, port: int | None = None) -> tuple[Child, int]:
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    port = port or free_port()
    argv = [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(logdir / "js")]
    child = Child(f"nats-{time.time():.0f}", argv, clean_env(), logdir)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(4).startswith(b"INFO"):
                    return child, port
        except OSError:
            time.sleep(0.02)
    raise BenchError(f"nats-server on {port} did not answer")


def restart_redis(logdir: Path, port: int) -> Child:
    binary = shutil.which("redis-server") or "redis-server"
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    return Child(f"redis-{time.time():.0f}", [*argv, "no"], clean_env(), logdir)


async def measure(fires: int, soak: int, logdir: Path) -> str:
    redis_child, redis_url = start_redis(logdir)
    nats_child, nats_port = start_nats(logdir)
    nats_url = f"nats://127.0.0.1:{nats_port}"
    children = [redis_child, nats_child]
    env = clean_env(
        PYTHONPATH=str(ROOT),
        REDIS_URL=redis_url,
        NATS_URL=nats_url,
        TRIGGER_TARGETS=",".join(TARGETS),
        SCHEDULE_CRYPTO_TRIGGER="* * * * * *",
        HEARTBEAT_FILE=str(logdir / "worker.heartbeat"),
    )
    worker = Child("worker", [sys.executable, "-m", "worker"], env, logdir)
    children.append(worker)
    try:
        worker.wait_ready(20)
        floor = None
        if not soak:
            argv = [sys.executable, "-m", "bench.targets_floor", redis_url, nats_url]
            floor = Child("floor", [*argv, str(logdir / "acks.json")], env, logdir)
            children.append(floor)
            floor.wait_ready(20)
        return await _run(fires, soak, logdir, redis_url, nats_url, worker, floor, children)
    finally:
        for child in children:
            child.close()


async def _run(
    fires: int,
    soak: int,
    logdir: Path,
    redis_url: str,
    nats_url: str,
    worker: Child,
    floor: Child | None,
    children: list[Child],
) -> str:
    import nats

    nc = await nats.connect(nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    await wait_stream(nc, "CRYPTO")
    got = {name: Receipts(name) for name in TARGETS}
    base = {name: Receipts(f"floor {name}") for name in TARGETS}
    ready = [asyncio.Event() for _ in range(4)]
    tasks = [
        asyncio.create_task(
            redis_pubsub(redis_url, "crypto-update", got["redis-pubsub"], ready[0])
        ),
        asyncio.create_task(
            redis_stream(redis_url, "crypto-update:stream", got["redis-stream"], ready[1])
        ),
        asyncio.create_task(jetstream(nc, "crypto.updates", "CRYPTO", got["jetstream"])),
    ]
    await nats_core(nc, "crypto.updates", got["nats"])
    if floor is not None:
        tasks += [
            asyncio.create_task(
                redis_pubsub(redis_url, "floor:pubsub", base["redis-pubsub"], ready[2])
            ),
            asyncio.create_task(
                redis_stream(redis_url, "floor:stream", base["redis-stream"], ready[3])
            ),
            asyncio.create_task(jetstream(nc, "floor.js", "FLOOR", base["jetstream"])),
        ]
        await nats_core(nc, "floor.core", base["nats"])
    await asyncio.sleep(1.0)
    length = soak or fires
    start = math.ceil(time.time()) + 2
    seconds = range(start, start + length)
    events = [] if not soak else [(start + length / 3, "nats"), (start + 2 * length / 3, "redis")]
    for at, which in events:
        await asyncio.sleep(at - time.time())
        print(f"[targets] SIGKILL and restart {which}", file=sys.stderr, flush=True)
        _restart(which, children, logdir, redis_url, nats_url)
    await asyncio.sleep(start + length + 2.5 - time.time())
    worker.terminate(timeout=35)
    if floor is not None:
        floor.terminate(timeout=10)
    report = _report(fires, soak, seconds, got, base, logdir)
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks, timeout=2)  # a receiver stuck in a fetch must not hold the result
    with contextlib.suppress(Exception):
        await asyncio.wait_for(nc.close(), 2)
    return report


def _restart(
    which: str, children: list[Child], logdir: Path, redis_url: str, nats_url: str
) -> None:
    index = 1 if which == "nats" else 0
    old = children[index]
    old.popen.kill()
    old.popen.wait()
    if which == "nats":
        children[index] = start_nats(logdir, int(nats_url.rsplit(":", 1)[1]))[0]
    else:
        port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
        children[index] = restart_redis(logdir, port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.targets_lag", description=__doc__)
    parser.add_argument("--fires", type=int, default=300, help="measured fires (default 300)")
    parser.add_argument("--soak", type=int, default=0, help="soak seconds with restarts")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown here")
    args = parser.parse_args(argv)
    logdir = Path(tempfile.mkdtemp(prefix="bench-targets-"))
    report = asyncio.run(measure(args.fires, args.soak, logdir))
    print(report)
    if args.out is not None:
        args.out.write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
