"""The shipped tasks as a running worker process shows them. Their behaviour run by run
(payload, figures, warnings, cleanup) is tested through worker.testing in
tests/tasks/test_shipped_tasks.py."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from tests.support import RedisServer, WorkerProcess

Spawn = Callable[..., WorkerProcess]


def test_health_check_stores_its_figures_in_the_instance_record(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    worker = spawn_worker(SCHEDULE_HEALTH_CHECK="1s", HEARTBEAT_INTERVAL="1")
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
