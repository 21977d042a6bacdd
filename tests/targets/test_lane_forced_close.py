"""A forced stop still names the fires a lane could not deliver (before: the cancel of the
lane's close, a second signal, interrupted it before its "not delivered" line)."""

from __future__ import annotations

import asyncio
from typing import Any

from loguru import logger
from redis.asyncio import Redis

from tests.support import RedisServer
from worker.targets.base import Message
from worker.targets.lane import DeliveryLane
from worker.targets.redis import RedisStreamTarget


async def test_a_cancelled_close_logs_the_pending_fire(own_redis: RedisServer) -> None:
    lines: list[Any] = []
    sink = logger.add(lambda message: lines.append(message.record), level="ERROR")
    redis = Redis.from_url(own_redis.url, socket_timeout=10, socket_connect_timeout=10)
    results: list[str] = []
    lane = DeliveryLane(
        RedisStreamTarget(redis, "crypto:stream", 100),
        send_timeout=10,
        log_interval=60,
        on_change=lambda _down: None,
        on_result=lambda _name, result: results.append(result),
        alert_after=100,
        alert=lambda *_args: None,
    )
    try:
        await redis.ping()
        own_redis.freeze()  # the send hangs: nothing is delivered
        delivered = lane.accept(Message("crypto-trigger:2026-12-02T10:00:00Z", 0, {"n": 1}))
        closing = asyncio.ensure_future(lane.close(30))
        done, _ = await asyncio.wait({closing}, timeout=0.3)
        assert not done, "the close waits for the lane to deliver"
        closing.cancel()  # a second signal: the forced stop cancels the step
        await asyncio.gather(closing, return_exceptions=True)
        errors = [r for r in lines if r["message"] == "trigger not delivered before shutdown"]
        assert [r["extra"]["fire"] for r in errors] == ["crypto-trigger:2026-12-02T10:00:00Z"]
        assert results == ["dropped"]
        assert delivered.done()
        assert delivered.result() is False
    finally:
        own_redis.thaw()
        logger.remove(sink)
        await redis.aclose()
