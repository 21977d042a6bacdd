"""`status` counts outcomes over each task's last 100 runs (before: XRANGE of the whole
per-task stream, up to RUN_HISTORY_PER_TASK entries per task per call)."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.support import RedisServer, WorkerProcess

Spawn = Callable[..., WorkerProcess]


def test_status_counts_the_last_100_runs_and_says_so(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    pipe = client.pipeline(transaction=False)
    for n in range(150):  # 50 old failures, then 100 good runs
        pipe.xadd("worker:runs:health-check", {"outcome": "failed" if n < 50 else "ok"})
    pipe.execute()
    as_json = spawn_worker("status", "--json")
    assert as_json.wait(timeout=30) == 0, as_json.stderr
    [task] = [t for t in json.loads(as_json.stdout)["tasks"] if t["name"] == "health-check"]
    assert task["counts"] == {"ok": 100}
    text = spawn_worker("status")
    assert text.wait(timeout=30) == 0, text.stderr
    assert "runs (last 100)" in text.stdout
