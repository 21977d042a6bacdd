"""Instance records are found through their index (no SCAN), which drops dead replicas."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.support import RedisServer
from worker.connect.outage import OutageMonitor
from worker.observe.heartbeat import Heartbeat
from worker.observe.instance import InstanceState
from worker.state.keys import Keys
from worker.state.read import FleetReader

KEYS = Keys("worker:")


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[Redis]:
    redis_server.client().flushall()
    client = Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


def heartbeat(client: Redis, tmp_path: Path, instance: InstanceState) -> Heartbeat:
    return Heartbeat(
        state=instance,
        redis=client,
        keys=KEYS,
        file=tmp_path / f"{instance.id}.heartbeat",
        interval=1.0,
        redis_timeout=2.0,
        outage=OutageMonitor(),
    )


async def test_a_beat_indexes_the_record_and_a_stop_removes_both(
    client: Redis, tmp_path: Path
) -> None:
    state = InstanceState("replica-a")
    beat = heartbeat(client, tmp_path, state)
    await beat.beat()
    assert await client.zscore(KEYS.instances, "replica-a") is not None
    assert [r["id"] for r in await FleetReader(client, KEYS).instances()] == ["replica-a"]
    beat.start()
    await beat.stop(timeout=2.0)
    assert await client.exists(KEYS.instance("replica-a")) == 0
    assert await client.zscore(KEYS.instances, "replica-a") is None


async def test_ids_whose_record_expired_leave_the_index_at_the_next_beat(
    client: Redis, tmp_path: Path
) -> None:
    dead_since = int(time.time() * 1000) - 60_000  # a replica killed a minute ago
    await client.zadd(KEYS.instances, {"killed": dead_since, "recent": int(time.time() * 1000)})
    await heartbeat(client, tmp_path, InstanceState("replica-b")).beat()
    members: list[bytes] = await client.zrange(KEYS.instances, 0, -1)  # type: ignore[assignment]
    left = {m.decode() for m in members}
    assert left == {"recent", "replica-b"}
    # "recent" has no record (its TTL ran out early, say): readers skip it.
    assert [r["id"] for r in await FleetReader(client, KEYS).instances()] == ["replica-b"]
