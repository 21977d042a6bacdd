"""A `redis-pubsub` catch-up waits until its channel has a subscriber, at most
PUBSUB_CATCHUP_WAIT, then goes out anyway; a fire on the normal path never waits (before: a
catch-up published 0.39 s after Redis restarted reached no subscriber, all still
re-subscribing)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
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


async def seconds_to_send_a_catch_up(fanout: TriggerFanout) -> float:
    """Publish a catch-up; how long until its lane has delivered it."""
    lane = fanout.lanes[0]
    payload = catchup()
    started = time.monotonic()
    await fanout.publish(payload)
    await until(lambda: lane.last_delivered == payload["id"], what="the catch-up sent")
    return time.monotonic() - started


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
    try:
        took = await seconds_to_send_a_catch_up(fanout)
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


async def test_fires_folded_while_a_catch_up_waits_go_out_without_waiting_again(
    pubsub_client: Redis,
) -> None:
    """Before: the folded fires made the next message a catch-up too (its `missed`): with no
    subscriber the lane waited again, folded the fires of that wait, and so on for ever (a
    stall of 3 s left every later run `targets_pending`)."""
    fanout = await lane_of(pubsub_client, wait=2.0)
    lane = fanout.lanes[0]
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        await fanout.publish(catchup())  # no subscriber: it waits 2 s
        # Three fires while it waits (each publish waits its 0.25 s for the lane, together):
        # the lane folds them into one message.
        await asyncio.gather(
            *(fanout.publish(fire_at(now + timedelta(seconds=s))) for s in (1, 2, 3))
        )
        newest = fire_at(now + timedelta(seconds=3))["id"]
        started = time.monotonic()
        await until(lambda: lane.last_delivered == newest, timeout=10, what="the folded fires")
        took = time.monotonic() - started
    finally:
        await fanout.close(1.0)
    # Sent when the catch-up is, about 1.5 s from here; waiting again would take 2 s more.
    assert took < 2.5, f"{took:.2f}s: the folded fires waited for a subscriber too"


async def test_a_pattern_subscriber_is_a_subscriber_for_a_catch_up(
    redis_server: RedisServer, pubsub_client: Redis
) -> None:
    listener = redis_server.client().pubsub()  # type: ignore[no-untyped-call]
    listener.psubscribe("crypto-*")
    await until(lambda: listener.get_message(timeout=0.01) is not None, what="psubscribed")
    fanout = await lane_of(pubsub_client, wait=10.0)
    try:
        took = await seconds_to_send_a_catch_up(fanout)
    finally:
        await fanout.close(1.0)
        listener.close()
    assert took < 2.0, took


@pytest.mark.parametrize("value", ["soon", "-1"])
def test_a_bad_wait_is_one_line_naming_the_setting(
    spawn_worker: Callable[..., WorkerProcess], value: str
) -> None:
    process = finished(spawn_worker, "check", PUBSUB_CATCHUP_WAIT=value)
    assert process.process.returncode == 78
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("worker: error: PUBSUB_CATCHUP_WAIT: "), lines
