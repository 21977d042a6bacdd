"""Tasks that flood Redis at one instant, in a real worker: every run succeeds, nothing reads
as an outage, and the framework's own traffic (claims, records) is not starved.

Before: redis-py's pool raised MaxConnectionsError once its 100 connections were busy (150
tasks: 121 of 450 runs failed, outage lines flapping); and the tasks' client was the one the
claims and records used, so a flood held the fleet's claims back too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.apps.flood import FLOOD
from tests.support import WorkerProcess, wait_for

Spawn = Callable[..., WorkerProcess]


def runs(worker: WorkerProcess, tick: bool = False) -> list[dict[str, Any]]:
    """The run lines of the flooding tasks, or of `flood-tick`."""
    lines = [line for line in worker.log_records() if line.get("message") == "run"]
    tasks = [line for line in lines if str(line.get("task", "")).startswith("flood-")]
    return [line for line in tasks if (line["task"] == "flood-tick") == tick]


def outages(worker: WorkerProcess) -> list[str]:
    return [line for line in worker.stderr.splitlines() if "outage started" in line]


def test_300_tasks_doing_redis_commands_at_one_instant_all_succeed(spawn_worker: Spawn) -> None:
    worker = spawn_worker(
        *FLOOD, LOG_FORMAT="json", FLOOD_TASKS="300", FLOOD_HOLD="1", FLOOD_EVERY="5s"
    )
    wait_for(lambda: len(runs(worker)) >= 600, timeout=40, what="two rounds of 300")
    assert worker.stop() == 0, worker.stderr[-3000:]
    done = runs(worker)
    failed = [run for run in done if run["outcome"] != "ok"]
    assert not failed, f"{len(failed)} of {len(done)} runs failed, e.g. {failed[0]}"
    assert not outages(worker)


def test_a_flood_holding_every_task_connection_does_not_hold_the_claims_back(
    spawn_worker: Spawn,
) -> None:
    """150 tasks hold the tasks' client 3 s of every 4: the cluster tick, claimed and recorded
    by the framework, runs every second on time all the same."""
    worker = spawn_worker(
        *FLOOD, LOG_FORMAT="json", FLOOD_TASKS="150", FLOOD_HOLD="3", FLOOD_EVERY="4s"
    )
    wait_for(lambda: len(runs(worker)) >= 300, timeout=40, what="two floods")
    assert worker.stop() == 0, worker.stderr[-3000:]
    ticks = runs(worker, tick=True)
    late = [tick for tick in ticks if tick["outcome"] != "ok" or float(tick["lag_ms"]) > 500]
    assert len(ticks) >= 6
    assert not late, f"{len(late)} of {len(ticks)} ticks late or not run, e.g. {late[0]}"
    assert not outages(worker)
