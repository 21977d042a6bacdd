"""Trigger publishing: the `TriggerPublisher` seam and the retry loop that never loses a fire.

A publish that fails is retried by the run itself; newer fires fold into the run meanwhile
(`current_fire()` moves forward), so the one message that finally goes out names the newest
fire and how many it stands for. The fire `id` is the same on every resend.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from loguru import logger

from worker.connect.errors import is_redis_outage
from worker.connect.outage import Backoff, OutageMonitor
from worker.connect.redis import redis_deadline
from worker.run.fire import Fire, current_fire

if TYPE_CHECKING:
    from redis.asyncio import Redis


class TriggerPublisher(Protocol):
    """Sends one trigger message; raises on failure and never re-sends on its own."""

    async def publish(self, payload: Mapping[str, Any]) -> None: ...


_PUBLISH = """#!lua
return redis.call('PUBLISH', ARGV[1], ARGV[2])
"""
"""PUBLISH inside a flagged script (the shebang, without `no-writes`; Redis 7): a read-only
replica refuses it with READONLY, where it accepts a plain PUBLISH and hands the message
to its own subscribers only, not the primary's: a demoted primary would eat every trigger."""


class RedisTriggerPublisher:
    """Redis Pub/Sub: one PUBLISH of compact JSON on the channel, on a primary only."""

    def __init__(self, redis: Redis, channel: str) -> None:
        self._channel = channel
        self._publish = redis.register_script(_PUBLISH)

    async def publish(self, payload: Mapping[str, Any]) -> None:
        await self._publish(args=[self._channel, json.dumps(payload, separators=(",", ":"))])


async def publish_fire(
    publisher: TriggerPublisher,
    build: Callable[[Fire], Mapping[str, Any]],
    outage: OutageMonitor,
) -> Mapping[str, Any]:
    """Publish the current fire's payload, retrying connection errors until it goes out.

    Fires folded in while a message was on its way are not covered by it: they get a
    message of their own (the newest of them, with `missed` counting the rest).
    """
    backoff = Backoff()
    attempt = 0
    while True:
        fire = current_fire()
        sent_for, sent_missed = fire.scheduled_for, fire.missed
        payload = build(fire)
        attempt += 1
        try:
            async with redis_deadline():
                await publisher.publish(payload)
        except Exception as exc:
            if not is_redis_outage(exc):
                raise
            outage.failure(exc)
            delay = backoff.next()
            logger.bind(task=fire.task, fire=fire.id, attempt=attempt, retry_in_s=delay).debug(
                "publish failed"
            )
            await asyncio.sleep(delay)
            continue
        outage.success()
        if attempt > 1:
            logger.bind(task=fire.task, fire=payload["id"], attempts=attempt).info(
                "published after retries"
            )
        if fire.scheduled_for == sent_for:
            return payload
        fire.missed -= sent_missed + 1
        backoff.reset()
        attempt = 0
