"""Queue throughput and fire → enqueue lag, on a redis-server of its own.

    PYTHONPATH=. python -m bench.queues [--jobs 3000] [--sleep-jobs 1000] [--fires 30]

Throughput (jobs/s, all jobs added first with addBulk, the clock from the Worker's start to
the last job's end): a no-op processor at concurrency 50 and a 10 ms sleep at concurrency 5,
through the worker's processors (`worker.queues`: current_job, one run record per job into
the real run recorder) and through a raw bullmq `Worker` in the same run, alternating;
Node BullMQ's figure for reference (tests/node, when installed). Fire → enqueue lag: a
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
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import redis

from bench.procs import Child, clean_env, start_redis
from bench.stats import nearest_rank

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "tests" / "node"
ROUNDS = 3


async def _noop(data: Any) -> None:
    return None


async def _sleep_10ms(data: Any) -> None:
    await asyncio.sleep(0.01)


async def _fill(url: str, queue: str, count: int) -> None:
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


async def _drain_with(
    url: str, queue: str, count: int, make: Callable[..., Awaitable[Any]]
) -> float:
    done = asyncio.Event()
    seen = 0

    def counted() -> None:
        nonlocal seen
        seen += 1
        if seen == count:
            done.set()

    started = time.perf_counter()
    close = await make(url, queue, counted)
    await asyncio.wait_for(done.wait(), timeout=600)
    elapsed = time.perf_counter() - started
    await close()
    return count / elapsed


def _raw(
    handler: Callable[[Any], Awaitable[Any]], concurrency: int
) -> Callable[..., Awaitable[Any]]:
    async def make(
        url: str, queue: str, counted: Callable[[], None]
    ) -> Callable[[], Awaitable[Any]]:
        from bullmq import Worker

        async def process(job: Any, token: str) -> None:
            await handler(job.data)
            counted()

        options = {
            "connection": url,
            "prefix": "bull",
            "concurrency": concurrency,
            "removeOnComplete": 10,
            "removeOnFail": 5,
        }
        worker = Worker(queue, process, options)
        return worker.close

    return make


def _framework(
    handler: Callable[[Any], Awaitable[Any]], concurrency: int
) -> Callable[..., Awaitable[Any]]:
    async def make(
        url: str, queue: str, counted: Callable[[], None]
    ) -> Callable[[], Awaitable[Any]]:
        from redis.asyncio import from_url

        from worker.connect.outage import OutageMonitor
        from worker.observe.recorder import RunRecorder
        from worker.queues.options import QueueOptions
        from worker.queues.processors import Processors
        from worker.queues.runs import BoundProcessor, JobRuns
        from worker.state.history import RunHistory
        from worker.state.keys import Keys

        client = from_url(url)
        recorder = RunRecorder(
            RunHistory(client, keys=Keys(), maxlen=100_000, timeout=5), OutageMonitor(30)
        )
        recorder.start()

        async def process(data: Any) -> None:
            await handler(data)
            counted()

        runs = JobRuns(instance_id="bench", listeners=[recorder])
        processors = Processors(
            url=url, prefix="bull", lock_duration=30, max_retry_after=3600, runs=runs
        )
        options = QueueOptions(concurrency=concurrency)
        processors.bind([BoundProcessor("bench", queue, process, options)])
        await processors.start()

        async def close() -> None:
            await processors.close(30)
            await recorder.close(5)
            await client.aclose()

        return close

    return make


async def throughput(url: str, jobs: int, handler: Any, concurrency: int) -> dict[str, float]:
    figures: dict[str, list[float]] = {"worker": [], "raw bullmq": []}
    for round_ in range(ROUNDS):
        for name, make in (("worker", _framework), ("raw bullmq", _raw)):
            queue = f"bench-{name.replace(' ', '-')}-{concurrency}-{round_}"
            await _fill(url, queue, jobs)
            figures[name].append(await _drain_with(url, queue, jobs, make(handler, concurrency)))
    return {name: max(values) for name, values in figures.items()}


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
    import sys

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
    args = parser.parse_args()
    logdir = Path(tempfile.mkdtemp(prefix="bench-queues-"))
    from worker.observe.logs import configure_logging

    configure_logging("WARNING")  # as bench.compare runs the worker: no line per job
    server, url = start_redis(logdir)
    try:
        report: dict[str, Any] = {}
        for label, jobs, handler, concurrency, sleep_ms in (
            ("no-op, concurrency 50", args.jobs, _noop, 50, 0),
            ("10 ms sleep, concurrency 5", args.sleep_jobs, _sleep_10ms, 5, 10),
        ):
            figures = asyncio.run(throughput(url, jobs, handler, concurrency))
            figures["node bullmq"] = node_figure(url, jobs, sleep_ms, concurrency) or float("nan")
            figures["worker / raw"] = figures["worker"] / figures["raw bullmq"]
            report[label] = figures
            print(label, json.dumps({k: round(v, 3) for k, v in figures.items()}), flush=True)
        p50, p99, count = fire_lag(url, args.fires, logdir)
        report["fire → enqueue lag ms"] = {"p50": p50, "p99": p99, "jobs": count}
        print("fire → enqueue lag (ms)", json.dumps(report["fire → enqueue lag ms"]), flush=True)
    finally:
        server.close()


if __name__ == "__main__":
    main()
