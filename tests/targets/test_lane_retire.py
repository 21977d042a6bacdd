"""Lane state hashes hold the live replicas' lanes and the newest dead delivery, however
often the fleet restarts (each restart is a new instance id)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from redis.asyncio import Redis

from tests.support import RedisServer, wait_for
from tests.targets.support import fanout_of
from worker.state.keys import Keys
from worker.state.target_status import merge_lanes, read_lanes
from worker.state.targets import TargetLanes
from worker.targets.redis import RedisPubSubTarget

KEYS = Keys("retire:")


def lane(instance: str, delivered_at: float | None, fire: str | None = None) -> str:
    return json.dumps(
        {
            "target": "redis-pubsub",
            "instance": instance,
            "last_delivered": fire,
            "delivered_at": delivered_at,
            "pending": None,
            "pending_missed": 0,
            "failing_since": None,
        }
    )


async def seed(client: Redis, live: list[str], lanes: dict[str | bytes, str | bytes]) -> None:
    now_ms = int(time.time() * 1000)
    if live:
        await client.zadd(KEYS.instances, {name: now_ms for name in live})
    await client.hset(KEYS.target("redis-pubsub"), mapping=lanes)  # type: ignore[arg-type]


async def fields(client: Redis) -> set[str]:
    found: Any = await client.hkeys(KEYS.target("redis-pubsub"))
    return {f.decode() for f in found}


async def test_dead_lanes_go_but_the_newest_dead_delivery_stays(client: Redis) -> None:
    await seed(
        client,
        ["live-a"],
        {
            "live-a": lane("live-a", 100.0, "t:100"),
            "dead-1": lane("dead-1", 300.0, "t:300"),
            "dead-2": lane("dead-2", 200.0, "t:200"),
            "dead-3": lane("dead-3", None),
            "garbage": "not json",
        },
    )
    state = TargetLanes(client, keys=KEYS, timeout=2.0)
    assert await state.retire("starting", ["redis-pubsub", "nats"]) == 3
    assert await fields(client) == {"live-a", "dead-1"}
    lanes = await read_lanes(client, KEYS, ["redis-pubsub"])
    [merged] = merge_lanes(["redis-pubsub"], lanes, {"live-a"})
    assert merged["last_delivered"] == "t:300"
    # A second start finds nothing more to drop.
    assert await state.retire("starting", ["redis-pubsub"]) == 0


async def test_a_replica_with_a_record_but_no_index_entry_keeps_its_lane(client: Redis) -> None:
    """A replica of a version before the instance index writes only its record: alive."""
    await seed(
        client,
        [],
        {
            "older": lane("older", 100.0, "t:100"),
            "gone-1": lane("gone-1", 300.0, "t:300"),
            "gone-2": lane("gone-2", 200.0, "t:200"),
        },
    )
    await client.set(KEYS.instance("older"), '{"id": "older"}', ex=30)
    state = TargetLanes(client, keys=KEYS, timeout=2.0)
    assert await state.retire("starting", ["redis-pubsub"]) == 1
    assert await fields(client) == {"older", "gone-1"}


async def test_no_dead_lane_with_a_delivery_leaves_only_the_live_ones(client: Redis) -> None:
    await seed(
        client,
        ["live-a"],
        {"live-a": lane("live-a", 100.0, "t:100"), "dead-1": lane("dead-1", None)},
    )
    state = TargetLanes(client, keys=KEYS, timeout=2.0)
    assert await state.retire("starting", ["redis-pubsub"]) == 1
    assert await fields(client) == {"live-a"}


async def test_a_starting_fanout_retires_the_lanes_of_restarts_long_gone(
    client: Redis, redis_server: RedisServer
) -> None:
    """Fifty restarts' lanes (ids gone from the index) shrink to the newest delivery's at the
    next start, before the starting replica has delivered anything."""
    await seed(
        client,
        [],
        {f"old-{n}": lane(f"old-{n}", 1000.0 + n, f"t:{n}") for n in range(50)},
    )
    fanout = fanout_of(RedisPubSubTarget(client, "crypto-update"), client, KEYS, "new")
    await fanout.start()
    try:
        await asyncio.to_thread(wait_for, lambda: _count(redis_server) == 1, 5.0)
        assert await fields(client) == {"old-49"}
    finally:
        await fanout.close(1.0)


def _count(redis_server: RedisServer) -> int:
    return int(redis_server.client().hlen(KEYS.target("redis-pubsub")))
