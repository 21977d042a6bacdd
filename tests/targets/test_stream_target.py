"""The redis-stream target stores a manual fire that shares its second with a scheduled one
(before: both had the entry id `<ms>-0`; Redis refused the second, counted delivered)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from worker.targets.base import Message
from worker.targets.redis import RedisStreamTarget


async def test_a_manual_fire_in_a_scheduled_fires_second_is_stored(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        target = RedisStreamTarget(redis, "crypto:stream", 1000)
        at_ms = 1_700_000_000_000
        await target.send(Message("t:2023-11-14T22:13:20Z", at_ms, {"n": 1}))
        await target.send(Message("t:manual:abc", at_ms, {"n": 2}))
        await target.send(Message("t:2023-11-14T22:13:20Z", at_ms, {"n": 1}))  # a resend
        entries: Any = await redis.xrange("crypto:stream")
        assert [fields[b"id"] for _, fields in entries] == [
            b"t:2023-11-14T22:13:20Z",
            b"t:manual:abc",
        ]
    finally:
        await redis.aclose()
