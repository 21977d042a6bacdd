"""Trigger targets: publish → receipt lag per target, the worker against a hand-written floor.

  python -m bench.targets_lag [--fires 300]     all four targets on, one run, each target's
                                                lag p50/p99 against its floor (+ 1 ms at most)
  python -m bench.targets_lag --soak 300        no floor; NATS SIGKILLed and restarted at 1/3,
                                                Redis at 2/3: per target sent, received,
                                                doubled, lost, lag p50/p99
  python -m bench.targets_lag --tree ../before --tree . [--blocks 2]
                                                each checkout's worker in turn (the floor
                                                throughout), each judged on its own seconds

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
from typing import Any

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


def _worker(tree: Path, name: str, redis_url: str, nats_url: str, logdir: Path) -> Child:
    env = clean_env(
        PYTHONPATH=str(tree),
        REDIS_URL=redis_url,
        NATS_URL=nats_url,
        TRIGGER_TARGETS=",".join(TARGETS),
        SCHEDULE_CRYPTO_TRIGGER="* * * * * *",
        HEARTBEAT_FILE=str(logdir / f"{name}.heartbeat"),
    )
    return Child(name, [sys.executable, "-m", "worker"], env, logdir)


async def measure(fires: int, soak: int, logdir: Path, trees: list[Path], blocks: int) -> str:
    redis_child, redis_url = start_redis(logdir)
    nats_child, nats_port = start_nats(logdir)
    nats_url = f"nats://127.0.0.1:{nats_port}"
    children = [redis_child, nats_child]
    try:
        if soak:
            worker = _worker(trees[0], "worker", redis_url, nats_url, logdir)
            children.append(worker)
            worker.wait_ready(20)
            return await _soak(soak, logdir, redis_url, nats_url, worker, children)
        argv = [sys.executable, "-m", "bench.targets_floor", redis_url, nats_url]
        env = clean_env(PYTHONPATH=str(ROOT))
        floor = Child("floor", [*argv, str(logdir / "acks.json")], env, logdir)
        children.append(floor)
        floor.wait_ready(20)
        return await _lag(fires, logdir, redis_url, nats_url, trees, blocks, floor, children)
    finally:
        for child in children:
            child.close()


async def _receivers(
    redis_url: str, nc: Any, floor: bool
) -> tuple[dict[str, Receipts], dict[str, Receipts], list[asyncio.Task[None]]]:
    """The worker's receivers, and the floor's when `floor`; the stream CRYPTO must exist."""
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
    if floor:
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
    return got, base, tasks


async def _lag(
    fires: int,
    logdir: Path,
    redis_url: str,
    nats_url: str,
    trees: list[Path],
    blocks: int,
    floor: Child,
    children: list[Child],
) -> str:
    """Each tree's worker runs alone (the floor throughout), `blocks` times in turn, for
    `fires` // `blocks` whole seconds each; each is judged against the floor's fires of
    its own seconds."""
    import nats

    nc = await nats.connect(nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    windows: dict[Path, list[range]] = {tree: [] for tree in trees}
    logs: dict[Path, list[Path]] = {tree: [] for tree in trees}
    got: dict[str, Receipts] = {}
    base: dict[str, Receipts] = {}
    tasks: list[asyncio.Task[None]] = []
    per_block = max(fires // blocks, 1)
    try:
        for block in range(blocks):
            for index, tree in enumerate(trees):
                name = f"worker-{index}-{block}"
                worker = _worker(tree, name, redis_url, nats_url, logdir)
                children.append(worker)
                worker.wait_ready(20)
                if not tasks:
                    await wait_stream(nc, "CRYPTO")
                    got, base, tasks = await _receivers(redis_url, nc, floor=True)
                start = math.ceil(time.time()) + 2
                await asyncio.sleep(start + per_block + 0.9 - time.time())
                windows[tree].append(range(start, start + per_block))
                logs[tree].append(worker.stderr_path)
                print(f"[targets] {tree}: block {block + 1} of {blocks}", file=sys.stderr)
                worker.terminate(timeout=35)
        await asyncio.sleep(1.5)  # the floor's last fire of the window, and late receipts
        floor.terminate(timeout=10)
        fired = per_block * blocks
        return "\n".join(
            _report(fired, 0, windows[tree], got, base, logdir, logs[tree], _label(tree, trees))
            for tree in trees
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=2)  # a receiver stuck in a fetch must not hold it
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), 2)


def _label(tree: Path, trees: list[Path]) -> str:
    return str(tree) if len(trees) > 1 else ""


async def _soak(
    soak: int,
    logdir: Path,
    redis_url: str,
    nats_url: str,
    worker: Child,
    children: list[Child],
) -> str:
    import nats

    nc = await nats.connect(nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    await wait_stream(nc, "CRYPTO")
    got, base, tasks = await _receivers(redis_url, nc, floor=False)
    start = math.ceil(time.time()) + 2
    seconds = range(start, start + soak)
    for at, which in [(start + soak / 3, "nats"), (start + 2 * soak / 3, "redis")]:
        await asyncio.sleep(at - time.time())
        print(f"[targets] SIGKILL and restart {which}", file=sys.stderr, flush=True)
        _restart(which, children, logdir, redis_url, nats_url)
    await asyncio.sleep(start + soak + 2.5 - time.time())
    worker.terminate(timeout=35)
    report = _report(0, soak, [seconds], got, base, logdir, [worker.stderr_path], "")
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
    parser.add_argument(
        "--tree",
        action="append",
        type=Path,
        help="a checkout whose worker to measure (repeat to compare in one run; default: this one)",
    )
    parser.add_argument(
        "--blocks", type=int, default=1, help="turns per tree, the fires split among them"
    )
    args = parser.parse_args(argv)
    trees = [tree.resolve() for tree in args.tree or [ROOT]]
    logdir = Path(tempfile.mkdtemp(prefix="bench-targets-"))
    report = asyncio.run(measure(args.fires, args.soak, logdir, trees, max(args.blocks, 1)))
    print(report)
    if args.out is not None:
        args.out.write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
