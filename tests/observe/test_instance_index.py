"""Instance records are found through their index (no SCAN), which drops dead replicas."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis

from worker.connect.outage import OutageMonitor
from worker.observe.heartbeat import Heartbeat
from worker.observe.instance import InstanceState
from worker.state.keys import Keys
from worker.state.read import FleetReader

KEYS = Keys("worker:")


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
    await beat.start()
    await beat.close(timeout=2.0)
    assert await client.exists(KEYS.instance("replica-a")) == 0
    assert await client.zscore(KEYS.instances, "replica-a") is None


async def test_ids_long_dead_leave_the_index_and_readers_skip_the_rest(
    client: Redis, tmp_path: Path
) -> None:
    now_ms = int(time.time() * 1000)
    # Killed 20 minutes ago; killed a minute ago (or its clock runs a minute behind ours).
    await client.zadd(KEYS.instances, {"killed": now_ms - 1_200_000, "behind": now_ms - 60_000})
    await heartbeat(client, tmp_path, InstanceState("replica-b")).beat()
    members: list[bytes] = await client.zrange(KEYS.instances, 0, -1)  # type: ignore[assignment]
    assert {m.decode() for m in members} == {"behind", "replica-b"}
    # "behind" has no record: readers skip it.
    assert [r["id"] for r in await FleetReader(client, KEYS).instances()] == ["replica-b"]
    # Its record back (a live replica whose clock is a minute slow) makes it a replica again.
    await client.set(KEYS.instance("behind"), '{"id": "behind"}', ex=30)
    found = [r["id"] for r in await FleetReader(client, KEYS).instances()]
    assert found == ["behind", "replica-b"]


async def test_status_also_finds_records_outside_the_index(client: Redis) -> None:
    """A replica of a version before the index (a rolling upgrade) writes only its record."""
    await client.set(KEYS.instance("old-version"), '{"id": "old-version"}', ex=30)
    reader = FleetReader(client, KEYS)
    assert await reader.instances() == []
    assert [r["id"] for r in await reader.instances(scan=True)] == ["old-version"]


async def test_every_beat_carries_rss_and_cpu_without_a_health_check(
    client: Redis, tmp_path: Path
) -> None:
    """Readers show a replica's RSS and CPU from its first beat, health check or not."""
    import psutil

    state = InstanceState("replica-c")
    beat = heartbeat(client, tmp_path, state)
    await beat.beat()
    [first] = await FleetReader(client, KEYS).replicas()
    rss_mb = psutil.Process().memory_info().rss / (1024 * 1024)
    assert first["rss_mb"] == pytest.approx(rss_mb, rel=0.2)
    assert first["health"] == {}

    # CPU is this process's use since the previous beat: busy, then idle.
    busy_until = time.process_time() + 0.3
    while time.process_time() < busy_until:
        pass
    await beat.beat()
    [busy] = await FleetReader(client, KEYS).replicas()
    assert busy["cpu_percent"] > 20
    await asyncio.sleep(0.3)
    await beat.beat()
    [idle] = await FleetReader(client, KEYS).replicas()
    assert idle["cpu_percent"] < busy["cpu_percent"]
