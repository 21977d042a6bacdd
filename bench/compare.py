"""Two trees of the worker side by side on one Redis, one trigger a second: CPU and memory.

    python -m bench.compare --tree /path/to/old --tree . [--seconds 120] [--idle]

Each worker runs `python -m worker` from its tree (so that tree's code is imported), with
its own channel, key prefix (so the trees do not share claims) and heartbeat file; both
idle the same way at the same time, so the machine's noise hits both alike. Prints CPU
user+sys over the window, RSS and USS at its end. `--idle` keeps the shipped schedules (no
fire for minutes: what is left is the background loops); else one trigger a second.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.procs import clean_env

WARM_UP = 15.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--idle", action="store_true", help="keep the shipped schedules")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    port = _free_port()
    redis = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    workers = []
    try:
        time.sleep(0.5)
        for index, tree in enumerate(args.tree):
            env = clean_env(
                PYTHONPATH=str(tree.resolve()),
                REDIS_URL=f"redis://127.0.0.1:{port}/0",
                **({} if args.idle else {"SCHEDULE_CRYPTO_TRIGGER": "* * * * * *"}),
                CRYPTO_CHANNEL=f"compare-{index}",
                KEY_PREFIX=f"compare-{index}:",
                HEARTBEAT_FILE=str(scratch / f"hb-{index}"),
                LOG_LEVEL="WARNING",
            )
            process = subprocess.Popen(
                [sys.executable, "-m", "worker"], cwd=tree, env=env, stderr=subprocess.DEVNULL
            )
            workers.append((tree, psutil.Process(process.pid), process))
        time.sleep(WARM_UP)
        start = {tree: _cpu(p) for tree, p, _ in workers}
        time.sleep(args.seconds)
        for tree, p, _ in workers:
            memory = p.memory_full_info()
            print(
                f"{tree}: CPU {_cpu(p) - start[tree]:.3f} s over {args.seconds:g} s, "
                f"RSS {memory.rss / 2**20:.1f} MiB, USS {memory.uss / 2**20:.1f} MiB"
            )
    finally:
        for _, _, process in workers:
            process.terminate()
            process.wait(timeout=40)
        redis.terminate()
        redis.wait()
        shutil.rmtree(scratch, ignore_errors=True)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
