"""Helpers of the claim tests: a claim store and a gate on a real redis-server, a cluster
task, a fire at an instant, a second ago by Redis's clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from worker.cluster.claims import ClaimStore
from worker.cluster.gate import ClusterGate
from worker.cluster.pause import PauseState
from worker.connect.outage import OutageMonitor
from worker.run.fire import Fire
from worker.schedule.cron import IntervalSchedule
from worker.schedule.definitions import TaskDefinition
from worker.state.keys import Keys

KEYS = Keys("worker:")


def store(client: Redis, owner: str, lease: float = 5.0) -> ClaimStore:
    return ClaimStore(client, KEYS, owner=owner, lease=lease, skew=2.0, timeout=5.0)


def gate(client: Redis, owner: str) -> ClusterGate:
    return ClusterGate(store(client, owner), outage=OutageMonitor(), pause=PauseState(), lease=5.0)


def task(name: str = "t", **changes: Any) -> TaskDefinition:
    values: dict[str, Any] = {
        "name": name,
        "provider": "test",
        "attribute": name,
        "schedule": IntervalSchedule(1.0),
        "scope": "cluster",
        "timezone": ZoneInfo("UTC"),
        "time_limit": 0.0,
        "disabled": False,
        "is_async": True,
    }
    values.update(changes)
    return TaskDefinition(**values)


def fire_at(name: str, at_ms: int) -> Fire:
    return Fire(name, datetime.fromtimestamp(at_ms / 1000, UTC), precise=False)


async def second_ago(client: Redis) -> int:
    seconds, _ = await client.time()
    return (int(seconds) - 1) * 1000
