"""Helpers of the claim tests: a claim store and a gate on a real redis-server, a cluster
task, a fire at an instant, a second ago by Redis's clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from tests.run_support import definition
from worker.cluster.claims import ClaimStore
from worker.cluster.gate import ClusterGate
from worker.cluster.pause import PauseState
from worker.connect.outage import OutageMonitor
from worker.run.fire import Fire
from worker.schedule.definitions import TaskDefinition
from worker.state.keys import Keys

KEYS = Keys("worker:")


def store(client: Redis, owner: str, lease: float = 5.0) -> ClaimStore:
    return ClaimStore(client, KEYS, owner=owner, lease=lease, skew=2.0, timeout=5.0)


def gate(client: Redis, owner: str) -> ClusterGate:
    return ClusterGate(store(client, owner), outage=OutageMonitor(), pause=PauseState(), lease=5.0)


def task(name: str = "t", **changes: Any) -> TaskDefinition:
    """A cluster task every second (the run tests' definition, scoped to the fleet)."""
    return definition(name, every=1.0, **{"scope": "cluster", **changes})


def fire_at(name: str, at_ms: int) -> Fire:
    return Fire(name, datetime.fromtimestamp(at_ms / 1000, UTC), precise=False)


async def second_ago(client: Redis) -> int:
    seconds, _ = await client.time()
    return (int(seconds) - 1) * 1000
