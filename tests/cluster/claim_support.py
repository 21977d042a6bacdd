"""Helpers of the claim tests: a claim store and a gate on a real redis-server, a cluster
task, a fire at an instant, a second ago by Redis's clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redis import Redis as SyncRedis
from redis.asyncio import Redis

from tests.run_support import definition
from worker.cluster.claims import ClaimStore
from worker.cluster.gate import ClusterGate
from worker.cluster.pause import PauseState
from worker.cluster.replies import ClaimRequest
from worker.connect.outage import OutageMonitor
from worker.run.fire import Fire
from worker.schedule.definitions import TaskDefinition
from worker.state.keys import Keys

KEYS = Keys("worker:")


def store(client: Redis, owner: str, lease: float = 5.0, skew: float = 2.0) -> ClaimStore:
    return ClaimStore(
        client,
        KEYS,
        owner=owner,
        lease=lease,
        skew=skew,
        timeout=5.0,
        thread_client=thread_client(client),
    )


def thread_client(client: Redis) -> Callable[..., SyncRedis]:
    """Blocking clients of the same redis-server (the lease keeper's kind)."""
    options = client.connection_pool.connection_kwargs

    def make(timeout: float) -> SyncRedis:
        return SyncRedis(
            host=options["host"],
            port=options["port"],
            db=options.get("db", 0),
            socket_timeout=timeout,
        )

    return make


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


async def now_ms(client: Redis) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def until_past(client: Redis, ms: int) -> None:
    """Until Redis's clock (the one leases run on) is past `ms`."""
    while await now_ms(client) <= ms:
        await asyncio.sleep(0.02)


def claim_request(
    task: str, at: int, *, recover: bool = True, manual: str | None = None
) -> ClaimRequest:
    return ClaimRequest(task, at, f"{task}:{manual or at}", recover, manual)


async def claim(s: ClaimStore, request: ClaimRequest) -> tuple[str, int]:
    replies, _ = await s.claim([request])
    return replies[0].status, replies[0].previous_mark
