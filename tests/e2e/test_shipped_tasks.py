"""The shipped health-check and cleanup tasks against a real Redis."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from tests.support import RedisServer, WorkerProcess, run_records

Spawn = Callable[..., WorkerProcess]


def test_health_check_stores_its_figures_in_the_instance_record(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    worker = spawn_worker(SCHEDULE_HEALTH_CHECK="1s", HEARTBEAT_INTERVAL="0.3")
    worker.wait_for_log("task=health-check outcome=ok")
    client = redis_server.client()

    def figures() -> dict[str, float]:
        keys: list[bytes] = list(client.scan_iter(match="worker:instance:*"))
        record = json.loads(client.get(keys[0]) or b"{}") if keys else {}
        health: dict[str, float] = record.get("health", {})
        return health

    deadline = time.monotonic() + 5
    while not figures() and time.monotonic() < deadline:
        time.sleep(0.05)
    health = figures()
    assert health["rss_mb"] > 5
    assert 0 <= health["system_memory_percent"] <= 100
    assert health["redis_ping_ms"] >= 0
    assert health["loop_lag_ms"] >= 0
    assert worker.stop() == 0


def test_health_check_warns_above_the_memory_limit(spawn_worker: Spawn) -> None:
    worker = spawn_worker(SCHEDULE_HEALTH_CHECK="1s", HEALTH_MEMORY_LIMIT_MB="1")
    log = worker.wait_for_log("memory above HEALTH_MEMORY_LIMIT_MB")
    assert "limit_mb=1" in log
    assert worker.stop() == 0


def test_cleanup_deletes_history_older_than_retention_and_keeps_the_rest(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    day_ms = 86_400_000
    now_ms = int(time.time() * 1000)
    for age_days in (40, 35, 31):
        for n in range(700):
            client.xadd("worker:runs", {"task": "old"}, id=f"{now_ms - age_days * day_ms}-{n}")
    for n in range(5):
        client.xadd("worker:runs", {"task": "recent"}, id=f"{now_ms - day_ms}-{n}")
    cleanup = spawn_worker("run-task", "cleanup", CLEANUP_RETENTION_DAYS="30")
    assert cleanup.wait() == 0
    assert "deleted=2100" in cleanup.stderr
    tasks = [r["task"] for r in run_records(client)]
    assert tasks.count("old") == 0
    assert tasks.count("recent") == 5
