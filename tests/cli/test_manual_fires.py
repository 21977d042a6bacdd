"""`run-task` and `enqueue` are manual fires: their own fire id, the mark untouched, and a
refused claim said in one line (before: a scheduled-style fire at `now`, silently skipped)."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.queue_support import in_state
from tests.support import RedisServer, WorkerProcess, run_records

Spawn = Callable[..., WorkerProcess]
APP = ("--app", "tests.apps.custom:Container")
CLAIM = "worker:{claims}:claim:probe-fail"


def test_run_task_is_a_manual_fire_and_leaves_the_mark_alone(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    client.set("probe:healthy", "1")
    client.hset(CLAIM, mapping={"mark": "1000", "done": "1", "lease": "0", "owner": "b"})
    task = spawn_worker(*APP, "run-task", "probe-fail")
    assert task.wait(timeout=30) == 0, task.stderr
    [record] = [r for r in run_records(client) if r["task"] == "probe-fail"]
    assert ":manual:" in record["fire_id"], record
    assert client.hget(CLAIM, "mark") == b"1000", "a manual fire moves no high-water mark"
    assert client.hget(CLAIM, "done") == b"1", "its lease ended with the run"


def test_run_task_refused_by_a_live_lease_names_the_owner(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    client.set("probe:healthy", "1")
    lease = str(int(time.time() * 1000) + 120_000)
    client.hset(CLAIM, mapping={"mark": "1000", "done": "0", "lease": lease, "owner": "replica-b"})
    task = spawn_worker(*APP, "run-task", "probe-fail")
    assert task.wait(timeout=30) == 1
    output = task.stdout + task.stderr
    lines = [line for line in output.splitlines() if "run not started" in line]
    assert len(lines) == 1, output
    assert "replica-b" in lines[0]
    assert "busy" in lines[0]


def test_enqueue_jobs_are_named_by_a_manual_fire(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    """Before, `enqueue` in a scheduled coin-sync's second gave the same job ids: bullmq
    kept the scheduled one and dropped the manual sync."""
    enqueue = spawn_worker("enqueue", "coin-sync", "bitcoin")
    assert enqueue.wait(timeout=30) == 0, enqueue.stderr
    client = redis_server.client()
    jobs = in_state(client, "wait")
    assert len(jobs) == 1
    assert jobs[0].startswith("coin-sync:manual:")
    assert jobs[0].endswith(":bitcoin")


def test_run_task_longer_than_shutdown_timeout_keeps_its_record(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    """Before, the deadline of `run-task` started at start-up: a run longer than
    SHUTDOWN_TIMEOUT left nothing for flushing its record, which was dropped."""
    task = spawn_worker(
        "run-task",
        "probe-slow",
        "--app",
        "tests.apps.custom:Container",
        PROBE_SLOW_SECONDS="1.5",
        SHUTDOWN_TIMEOUT="1",
    )
    assert task.wait(timeout=20) == 0
    records = run_records(redis_server.client())
    assert [r["outcome"] for r in records if r["task"] == "probe-slow"] == ["ok"]
