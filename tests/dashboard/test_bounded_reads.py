"""A task's page costs the same Redis commands with 5,000 runs in its history as with 10:
its runs are read newest first with a COUNT, never the whole stream.

The dashboard's commands are read back from the server's SLOWLOG with a 0 µs threshold
(every command, its arguments and its client's name), so the test sees exactly what the
dashboard sent for one request."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from tests.dashboard.seed import KEYS, heartbeat, record
from tests.dashboard.support import DashboardProcess
from tests.support import RedisServer
from worker.connect.redis import text
from worker.state.history import RunHistory
from worker.state.views import CHART_RUNS, RUNS_SHOWN

CLIENT_NAME = "crypto-stats-dashboard"
MANY = 5000


async def seed(url: str) -> None:
    """`busy`: MANY runs (the writer's fields) in one pipeline of XADDs to its stream, then
    10 through the history writer; `small`: those 10 only."""
    client = aioredis.Redis.from_url(url)
    history = RunHistory(client, keys=KEYS, maxlen=100_000, timeout=5.0, per_task=100_000)
    start = datetime.now(UTC) - timedelta(days=1)
    pipe = client.pipeline(transaction=False)
    for i in range(MANY):
        fields = record("busy", start - timedelta(seconds=MANY - i), "ok").to_dict()
        values = {k: "" if v is None else str(v) for k, v in fields.items()}
        pipe.xadd(KEYS.task_runs("busy"), values)  # type: ignore[arg-type]
    await pipe.execute()
    for task in ("small", "busy"):
        await history.append(
            [record(task, start + timedelta(seconds=i), "ok", lag_ms=i) for i in range(10)]
        )
    assert await client.xlen(KEYS.task_runs("busy")) == MANY + 10
    await client.aclose()


@pytest.fixture
def dashboard(
    own_redis: RedisServer, spawn_dashboard: Callable[..., DashboardProcess]
) -> DashboardProcess:
    asyncio.run(seed(own_redis.url))
    return spawn_dashboard(redis=own_redis.url)


def commands_of(admin: redis.Redis, dashboard: DashboardProcess, path: str) -> list[list[str]]:
    """The commands the dashboard sent to answer one GET of `path`, oldest first."""
    admin.slowlog_reset()
    assert dashboard.get(path).status_code == 200, path
    entries: Any = admin.slowlog_get(1000)
    assert len(entries) < 1000
    mine = [e for e in entries if text(e.get("client_name") or "") == CLIENT_NAME]
    return [text(e["command"]).split() for e in reversed(mine)]


def test_a_task_page_reads_as_much_with_5000_runs_as_with_10(
    own_redis: RedisServer, dashboard: DashboardProcess
) -> None:
    admin = own_redis.client()
    admin.config_set("slowlog-log-slower-than", 0)
    admin.config_set("slowlog-max-len", 1000)
    dashboard.get("/healthz")  # the connection is made (and named) before the counting

    for kind in ("/api/tasks/", "/tasks/"):
        small = commands_of(admin, dashboard, f"{kind}small")
        busy = commands_of(admin, dashboard, f"{kind}busy")
        assert small, "no command of the dashboard's recorded"
        assert [c[0] for c in busy] == [c[0] for c in small], (busy, small)
        ranges = [c for c in busy if c[0].upper() == "XREVRANGE"]
        assert ranges, busy
        for command in ranges:
            upper = [word.upper() for word in command]
            assert "COUNT" in upper, command
            assert int(command[upper.index("COUNT") + 1]) <= CHART_RUNS
        assert not [c for c in busy if c[0].upper() in ("XRANGE", "XLEN", "SCAN", "KEYS")]

    data = dashboard.get("/api/tasks/busy").json()
    assert len(data["runs"]) == RUNS_SHOWN
    assert len(data["lag"]) == CHART_RUNS
    # Newest first: the 10 written last through the history writer lead.
    assert [r["lag_ms"] for r in data["runs"][:10]] == [float(i) for i in range(9, -1, -1)]


def round_trips_of(admin: redis.Redis, dashboard: DashboardProcess, path: str) -> int:
    """The reads the server made (one per command or pipeline the dashboard sent) to answer
    one GET of `path`: INFO's read counter before and after, less the second INFO's own."""
    dashboard.get(path)  # warm: any connection the answer needs is made and named already
    before = int(admin.info("stats")["total_reads_processed"])
    assert dashboard.get(path).status_code == 200, path
    return int(admin.info("stats")["total_reads_processed"]) - before - 1


def test_a_task_page_takes_two_round_trips_and_the_tasks_page_three(
    own_redis: RedisServer, dashboard: DashboardProcess, tmp_path: Path
) -> None:
    async def beat() -> None:  # a live replica: its record is read after the index
        client = aioredis.Redis.from_url(own_redis.url)
        await heartbeat(client, tmp_path, "replica-a", {})
        await client.aclose()

    asyncio.run(beat())
    admin = own_redis.client()
    assert dashboard.get("/api/fleet").json()["replicas"], "the replica is listed"
    for path in ("/api/tasks/busy", "/tasks/busy", "/api/tasks/small"):
        assert round_trips_of(admin, dashboard, path) == 2, path
    for path in ("/api/tasks", "/tasks"):
        assert round_trips_of(admin, dashboard, path) == 3, path
