"""What a dashboard page costs over a long history: render time and Redis commands per view.

    PYTHONPATH=. python -m bench.dashboard [--runs N] [--requests N] [--json PATH] [--smoke]

A throwaway redis-server gets N runs (default 100,000) in the all-runs stream and in one
task's stream (`big`), 200 (what a task page reads) in another's (`mid`), 10 in a third's
(`small`), a few tasks' summaries, two instance records (with their catalogue and index
entry), target lanes, a full alerts stream and a queue. The dashboard
runs as its own process (`python -m dashboard`); each view is asked `--requests` times in a
row (after 3 unmeasured ones) with httpx, one at a time. Per view: median and p95 of the
request time as the client sees it, Redis commands per request (INFO commandstats delta) and
round trips per request (INFO stats `total_reads_processed` delta: one per pipeline or command
the server read separately). `--smoke`: 2,000 runs, 5 requests per view.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import redis

from bench.procs import BenchError, Child, clean_env, free_port, start_redis
from worker.observe.instance import InstanceState, describe_app
from worker.protocol import format_instant
from worker.run.records import RunRecord
from worker.schedule.cron import parse_schedule
from worker.schedule.definitions import TaskDefinition
from worker.state.keys import Keys
from worker.state.views import CHART_RUNS

KEYS = Keys()
SMALL_RUNS = 10
MID_RUNS = CHART_RUNS
WARM_UP = 3
BATCH = 10_000
TASKS = ("big", "mid", "small", "report")
VIEWS = (
    "/",
    "/api/fleet",
    "/tasks",
    "/api/tasks",
    "/tasks/big",
    "/api/tasks/big",
    "/tasks/mid",
    "/api/tasks/mid",
    "/tasks/small",
    "/api/tasks/small",
    "/targets",
    "/api/targets",
    "/queues",
    "/api/queues",
    "/alerts",
    "/api/alerts",
)
OWN = ("info", "config|resetstat")
"""The benchmark's own commands, left out of the counts."""


def run(task: str, at: datetime, index: int) -> dict[str, str]:
    """A run record's fields as the history writer stores them."""
    outcome = "failed" if index % 97 == 0 else "ok"
    values = RunRecord(
        task=task,
        fire_id=f"{task}:{int(at.timestamp() * 1000)}",
        scheduled_for=format_instant(at, precise=True),
        started_at=format_instant(at + timedelta(milliseconds=3), precise=True),
        outcome=outcome,
        duration_ms=10.0 + index % 7,
        lag_ms=2.0 + index % 11,
        missed=0,
        instance="bench-a",
        error="HTTPError: 502" if outcome == "failed" else None,
    ).to_dict()
    return {k: "" if v is None else str(v) for k, v in values.items()}


def definition(name: str) -> TaskDefinition:
    return TaskDefinition(
        name=name,
        provider="bench",
        attribute=name,
        schedule=parse_schedule("* * * * * *"),
        scope="cluster",
        timezone=ZoneInfo("UTC"),
        time_limit=30.0,
        disabled=False,
        is_async=True,
    )


def seed(client: redis.Redis, runs: int) -> None:
    start = datetime.now(UTC) - timedelta(seconds=runs + 60)
    pipe = client.pipeline(transaction=False)
    for index in range(runs):
        fields: Any = run("big", start + timedelta(seconds=index), index)
        pipe.xadd(KEYS.runs, fields)
        pipe.xadd(KEYS.task_runs("big"), fields)
        if index % BATCH == BATCH - 1:
            pipe.execute()
    for task, count in (("mid", MID_RUNS), ("small", SMALL_RUNS)):
        for index in range(count):
            fields = run(task, start + timedelta(seconds=index), index)
            pipe.xadd(KEYS.runs, fields)
            pipe.xadd(KEYS.task_runs(task), fields)
    for task in TASKS:
        pipe.hset(KEYS.task_summaries, task, json.dumps(run(task, start, 1)))
    now_ms = int(time.time() * 1000)
    catalog = describe_app(
        [definition(t) for t in TASKS], queues=["coin-sync"], queue_prefix="bull", targets=["lake"]
    )
    for instance_id in ("bench-a", "bench-b"):
        state = InstanceState(instance_id)
        state.catalog = catalog
        state.roles = ("scheduler", "processor")
        state.health = {"rss_mb": 60.0, "cpu_percent": 1.0}
        pipe.set(KEYS.instance(instance_id), json.dumps(state.snapshot()), ex=3600)
        pipe.zadd(KEYS.instances, {instance_id: now_ms})
        lane = {"target": "lake", "last_delivered": "big:1", "delivered_at": now_ms / 1000}
        pipe.hset(KEYS.target("lake"), instance_id, json.dumps({**lane, "instance": instance_id}))
    for index in range(1000):
        event = {"task": "big", "state": "failing", "failures": 3, "time": "2026-01-01T00:00:00Z"}
        pipe.xadd(KEYS.alerts, {"task": "big", "state": "failing", "data": json.dumps(event)})
        pipe.rpush("bull:coin-sync:wait", f"job-{index}")
    pipe.execute()


def counters(client: redis.Redis) -> tuple[int, int]:
    """Commands run so far (the benchmark's own left out) and reads the server processed."""
    stats: Any = client.info("commandstats")
    calls = sum(
        int(value["calls"]) for key, value in stats.items() if key[len("cmdstat_") :] not in OWN
    )
    reads: Any = client.info("stats")
    return calls, int(reads["total_reads_processed"])


def measure(http: httpx.Client, client: redis.Redis, path: str, requests: int) -> dict[str, float]:
    for _ in range(WARM_UP):
        http.get(path).raise_for_status()
    calls, reads = counters(client)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        reply = http.get(path)
        times.append((time.perf_counter() - started) * 1000)
        reply.raise_for_status()
    calls_after, reads_after = counters(client)
    ordered = sorted(times)
    return {
        "median_ms": statistics.median(times),
        "p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "commands": (calls_after - calls) / requests,
        # The second INFO of `counters` (the first pair's) and this pair's first are reads too.
        "round_trips": (reads_after - reads - 2) / requests,
        "bytes": len(reply.content),
    }


def wait_listening(url: str, child: Child, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.popen.poll() is not None:
            raise BenchError(f"dashboard exited {child.popen.returncode}: {child.tail()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise BenchError(f"dashboard did not answer within {timeout:.0f} s: {child.tail()}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100_000, help="runs of the task `big`")
    parser.add_argument("--requests", type=int, default=50, help="measured requests per view")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--smoke", action="store_true", help="2,000 runs, 5 requests per view")
    args = parser.parse_args(argv)
    if args.smoke:
        args.runs, args.requests = 2000, 5
    logdir = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    server, redis_url = start_redis(logdir)
    dashboard: Child | None = None
    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=30)
        started = time.perf_counter()
        seed(client, args.runs)
        seeded_s = time.perf_counter() - started
        lengths = {t: client.xlen(KEYS.task_runs(t)) for t in ("big", "mid", "small")}
        port = free_port()
        env = clean_env(REDIS_URL=redis_url, PYTHONPATH=str(Path.cwd()))
        argv_ = [sys.executable, "-m", "dashboard", "--addr", f"127.0.0.1:{port}"]
        dashboard = Child("dashboard", argv_, env, logdir)
        url = f"http://127.0.0.1:{port}"
        wait_listening(url, dashboard)
        with httpx.Client(base_url=url, timeout=30) as http:
            figures = {path: measure(http, client, path, args.requests) for path in VIEWS}
    except BenchError as exc:
        print(f"bench.dashboard: {exc}", file=sys.stderr)
        return 1
    finally:
        if dashboard is not None:
            dashboard.close()
        server.close()
    print(
        f"history: {lengths['big']:,} runs of `big`, {lengths['mid']} of `mid`, "
        f"{lengths['small']} of `small` (seeded in {seeded_s:.1f} s); "
        f"{args.requests} sequential requests per view"
    )
    header = ("median ms", "p95 ms", "cmds/req", "trips/req", "bytes")
    print(f"{'view':20} " + " ".join(f"{h:>10}" for h in header))
    for path, row in figures.items():
        print(
            f"{path:20} {row['median_ms']:10.1f} {row['p95_ms']:10.1f} {row['commands']:10.1f} "
            f"{row['round_trips']:10.1f} {row['bytes']:10.0f}"
        )
    big, mid, small = (figures[f"/tasks/{t}"] for t in ("big", "mid", "small"))
    print(
        f"task page, {lengths['big']} runs vs {lengths['mid']} vs {lengths['small']}: "
        f"{big['median_ms']:.1f} / {mid['median_ms']:.1f} / {small['median_ms']:.1f} ms median, "
        f"{big['commands']:.1f} / {mid['commands']:.1f} / {small['commands']:.1f} commands "
        f"per request (the page reads the newest {CHART_RUNS})"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"runs": lengths, "requests": args.requests, "views": figures}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
