"""Queue throughput and fire → enqueue lag, on a redis-server of its own.

    PYTHONPATH=. python -m bench.queues [--jobs 3000] [--sleep-jobs 1000] [--fires 30]
        [--rounds 3] [--tree PATH]... [--only noop|sleep]

Throughput (jobs/s, all jobs added first with addBulk, the clock from the Worker's start to
the last job's end): a no-op processor at concurrency 50 and a 10 ms sleep at concurrency 5,
through the worker's processors (`worker.queues`: current_job, one run record per job into
the real run recorder) and through a raw bullmq `Worker` in the same run, each drain a
process of its own (`bench/queue_drain.py`), the order turning each round, best of
`--rounds`. Each `--tree` is a checkout whose processors are measured in the same run
(`--tree ../before --tree .` compares a change with the tree before it). Node BullMQ's
figure for reference (tests/node, when installed). Fire → enqueue lag: a
scheduler-only `python -m worker` firing coin-sync every second; per job, bullmq's own add
timestamp minus the fire's scheduled instant (from the job id).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import redis

from bench.procs import Child, clean_env, start_redis
from bench.stats import nearest_rank

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "tests" / "node"
ROUNDS = 3
DRAIN = Path(__file__).resolve().parent / "queue_drain.py"


def _fill(url: str, queue: str, count: int) -> None:
    asyncio.run(_add_bulk(url, queue, count))


async def _add_bulk(url: str, queue: str, count: int) -> None:
    """`count` jobs as bullmq's addBulk writes them, with the queue's default options."""
    from bullmq import Queue

    from worker.connect.redis import make_client
    from worker.queues.options import QueueOptions

    client = make_client(url, retry="bullmq", decode=True)
    target = Queue(queue, {"connection": client, "prefix": "bull"})
    options = QueueOptions().job_options()
    for start in range(0, count, 1000):
        batch = range(start, min(start + 1000, count))
        await target.addBulk([{"name": "job", "data": {"n": n}, "opts": options} for n in batch])
    await target.close()
    await client.aclose()


def _drain(
    url: str, queue: str, jobs: int, sleep_ms: int, concurrency: int, kind: str, tree: Path
) -> float:
    """jobs/s of one drain in a process of its own, `worker` being `tree`'s code."""
    done = subprocess.run(
        [sys.executable, str(DRAIN), url, queue, str(jobs), str(sleep_ms), str(concurrency), kind],
        capture_output=True,
        text=True,
        timeout=660,
        check=False,
        cwd=tree,
        env=clean_env(PYTHONPATH=str(tree)),
    )
    if done.returncode != 0:
        raise RuntimeError(f"drain ({kind}, {tree}) failed: {done.stderr.strip()[-800:]}")
    return float(done.stdout.strip().splitlines()[-1])


def throughput(
    url: str, jobs: int, sleep_ms: int, concurrency: int, trees: list[Path], rounds: int
) -> dict[str, float]:
    """Best of `rounds` jobs/s per program; each round runs the raw Worker and every tree,
    the order turning round by round so no program always runs first."""
    runs: list[tuple[str, str, Path]] = [("raw bullmq", "raw", ROOT)]
    runs += [(_label(tree, trees), "worker", tree) for tree in trees]
    figures: dict[str, list[float]] = {name: [] for name, _, _ in runs}
    for round_ in range(rounds):
        shift = round_ % len(runs)
        for name, kind, tree in runs[shift:] + runs[:shift]:
            queue = f"bench-{kind}-{concurrency}-{round_}-{len(figures[name])}-{time.time_ns()}"
            _fill(url, queue, jobs)
            figures[name].append(_drain(url, queue, jobs, sleep_ms, concurrency, kind, tree))
    return {name: max(values) for name, values in figures.items()}


def _label(tree: Path, trees: list[Path]) -> str:
    return "worker" if len(trees) == 1 else f"worker {tree}"


def node_figure(url: str, jobs: int, sleep_ms: int, concurrency: int) -> float | None:
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "bullmq").is_dir():
        return None
    done = subprocess.run(
        [
            "node",
            str(ROOT / "bench" / "queues_node.js"),
            url,
            str(jobs),
            str(sleep_ms),
            str(concurrency),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=NODE_DIR,
        env={**os.environ, "NODE_PATH": str(NODE_DIR / "node_modules")},
    )
    if done.returncode != 0:
        print(f"node bullmq failed: {done.stderr.strip()[-500:]}", flush=True)
        return None
    return float(done.stdout.strip().splitlines()[-1])


def fire_lag(url: str, fires: int, logdir: Path) -> tuple[float, float, int]:
    env = clean_env(
        PYTHONPATH=str(ROOT),
        REDIS_URL=url,
        WORKER_ROLES="scheduler",
        SCHEDULE_COIN_SYNC="* * * * * *",
        SYNC_MAX_DELAY="0",
        COINS="bitcoin",
        LOG_LEVEL="INFO",
        HEARTBEAT_FILE=str(logdir / "hb"),
        DISABLED_TASKS="crypto-trigger,health-check,cleanup",
    )
    child = Child("lag-worker", [sys.executable, "-m", "worker"], env, logdir)
    try:
        child.wait_ready(30)
        time.sleep(fires + 1.5)
    finally:
        child.terminate(40)
    client = redis.Redis.from_url(url)
    lags = []
    for raw in client.lrange("bull:coin-sync:wait", 0, -1):
        job_id = raw.decode()
        added = int(client.hget(f"bull:coin-sync:{job_id}", "timestamp") or 0)
        fire = job_id.rsplit(":", 1)[0].removeprefix("coin-sync:")
        due = datetime.fromisoformat(fire.replace("Z", "+00:00")).timestamp() * 1000
        lags.append(added - due)
    lags.sort()
    return nearest_rank(lags, 0.5), nearest_rank(lags, 0.99), len(lags)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--sleep-jobs", type=int, default=1000)
    parser.add_argument("--fires", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument(
        "--tree",
        action="append",
        type=Path,
        help="a checkout whose worker.queues to measure (repeat to compare; default: this one)",
    )
    parser.add_argument("--only", choices=("noop", "sleep"), help="one of the two loads only")
    args = parser.parse_args()
    trees = [tree.resolve() for tree in args.tree or [ROOT]]
    logdir = Path(tempfile.mkdtemp(prefix="bench-queues-"))
    server, url = start_redis(logdir)
    try:
        report: dict[str, Any] = {}
        for load, label, jobs, concurrency, sleep_ms in (
            ("noop", "no-op, concurrency 50", args.jobs, 50, 0),
            ("sleep", "10 ms sleep, concurrency 5", args.sleep_jobs, 5, 10),
        ):
            if args.only not in (None, load):
                continue
            figures = throughput(url, jobs, sleep_ms, concurrency, trees, args.rounds)
            figures["node bullmq"] = node_figure(url, jobs, sleep_ms, concurrency) or float("nan")
            for tree in trees:
                name = _label(tree, trees)
                figures[f"{name} / raw"] = figures[name] / figures["raw bullmq"]
            report[label] = figures
            print(label, json.dumps({k: round(v, 3) for k, v in figures.items()}), flush=True)
        if args.fires:
            p50, p99, count = fire_lag(url, args.fires, logdir)
            report["fire → enqueue lag ms"] = {"p50": p50, "p99": p99, "jobs": count}
            print(
                "fire → enqueue lag (ms)", json.dumps(report["fire → enqueue lag ms"]), flush=True
            )
    finally:
        server.close()


if __name__ == "__main__":
    main()
