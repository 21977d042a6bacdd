"""Stopping background work is bounded even when a library swallows a cancellation."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.support import RedisServer
from worker.concurrency import cancel_and_wait
from worker.connect.outage import OutageMonitor
from worker.connect.redis import make_client
from worker.observe.heartbeat import Heartbeat
from worker.observe.instance import InstanceState
from worker.state.keys import Keys


async def test_cancel_and_wait_cancels_again_a_task_that_swallowed_the_first_cancel() -> None:
    swallowed: list[bool] = []

    async def stubborn() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            swallowed.append(True)  # as redis-py does mid-connect: carries on
        await asyncio.sleep(30)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    assert await cancel_and_wait([task], timeout=2) == set()
    assert task.cancelled()
    assert swallowed == [True]


async def test_heartbeat_stops_promptly_whenever_the_stop_lands(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    for attempt in range(40):
        client = make_client(redis_server.url)
        heartbeat = Heartbeat(
            state=InstanceState("t"),
            redis=client,
            keys=Keys("test:"),
            file=tmp_path / "hb",
            interval=10,
            redis_timeout=5,
            outage=OutageMonitor(),
        )
        await heartbeat.start()
        await asyncio.sleep((attempt % 20) * 0.0001)
        started = time.monotonic()
        await heartbeat.close(timeout=2)
        assert time.monotonic() - started < 2.5
        assert not (tmp_path / "hb").exists()
        await client.aclose()
