"""A `redis-pubsub` catch-up waits until its channel has a subscriber, at most
PUBSUB_CATCHUP_WAIT, then goes out anyway; a fire on the normal path never waits (before: a
catch-up published 0.39 s after Redis restarted reached no subscriber, all still
re-subscribing)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.support import RedisServer, WorkerProcess, finished, subscribed, until
from tests.targets.support import fanout_of, fire_at
from worker.connect.redis import make_client
from worker.targets.fanout import TriggerFanout
from worker.targets.redis import RedisPubSubTarget

CHANNEL = "crypto-update"


@pytest.fixture
async def pubsub_client(redis_url: str) -> AsyncIterator[Redis]:
    client = make_client(redis_url)
    yield client
    await client.aclose()


async def lane_of(client: Redis, wait: float) -> TriggerFanout:
    """A fan-out over one Pub/Sub lane, started and connected."""
    fanout = fanout_of(RedisPubSubTarget(client, CHANNEL, catchup_wait=wait), client)
    await fanout.start()
    await until(lambda: fanout.lanes[0].answering, what="the lane's first connection")
    return fanout


def catchup(missed: int = 2) -> dict[str, Any]:
    return {**fire_at(datetime.now(UTC).replace(microsecond=0)), "missed": missed}


async def test_a_catch_up_waits_for_a_subscriber(
    redis_server: RedisServer, pubsub_client: Redis
) -> None:
    fanout = await lane_of(pubsub_client, wait=10.0)
    try:
        payload = catchup()
        await fanout.publish(payload)  # nobody subscribed yet
        with subscribed(redis_server, CHANNEL) as subscriber:
            messages = await asyncio.to_thread(subscriber.wait_count, 1, 5.0)
    finally:
        await fanout.close(1.0)
    assert messages[0].data["id"] == payload["id"]
    assert messages[0].data["missed"] == 2


async def test_a_catch_up_goes_out_anyway_after_the_wait(pubsub_client: Redis) -> None:
    fanout = await lane_of(pubsub_client, wait=0.5)
    lane = fanout.lanes[0]
    try:
        payload = catchup()
        started = time.monotonic()
        await fanout.publish(payload)
        await until(lambda: lane.last_delivered == payload["id"], what="the catch-up sent")
        took = time.monotonic() - started
    finally:
        await fanout.close(1.0)
    assert 0.4 <= took < 3.0, took


async def test_a_fire_on_the_normal_path_never_waits_for_a_subscriber(
    pubsub_client: Redis,
) -> None:
    fanout = await lane_of(pubsub_client, wait=10.0)
    lane = fanout.lanes[0]
    try:
        payload = fire_at(datetime.now(UTC))
        started = time.monotonic()
        await fanout.publish(payload)
        took = time.monotonic() - started
    finally:
        await fanout.close(1.0)
    assert lane.last_delivered == payload["id"]
    assert took < 0.2, took


@pytest.mark.parametrize("value", ["soon", "-1"])
def test_a_bad_wait_is_one_line_naming_the_setting(
    spawn_worker: Callable[..., WorkerProcess], value: str
) -> None:
    process = finished(spawn_worker, "check", PUBSUB_CATCHUP_WAIT=value)
    assert process.process.returncode == 78
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("worker: error: PUBSUB_CATCHUP_WAIT: "), lines
