"""worker.connect against a real redis-server: the outage-aware retry (`OutageRetry`) and the
client factory's retry policies (`make_client`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from loguru import logger
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from tests.support import RedisServer
from worker.connect.outage import OutageMonitor
from worker.connect.redis import make_client, text
from worker.connect.retry import OutageRetry


@pytest.fixture
def lines() -> Iterator[list[str]]:
    found: list[str] = []
    sink = logger.add(found.append, level="DEBUG", format="{message} {extra}")
    yield found
    logger.remove(sink)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def test_call_waits_out_an_outage_reporting_its_start_and_end(
    own_redis: RedisServer, lines: list[str]
) -> None:
    client = make_client(own_redis.url, timeout=0.5)
    monitor = OutageMonitor("redis")
    own_redis.kill()
    attempts = 0

    async def ping() -> bool:
        nonlocal attempts
        attempts += 1
        return bool(await client.ping())

    try:
        pinging = asyncio.create_task(OutageRetry(monitor).call(ping))
        await until(lambda: monitor.down)
        await until(lambda: attempts >= 3)  # retried while redis is down
        assert not pinging.done()
        await asyncio.to_thread(own_redis.start)
        assert await asyncio.wait_for(pinging, 10) is True
    finally:
        await client.aclose()
    assert not monitor.down
    assert [line.split(" ")[0:2] for line in lines] == [["outage", "started"], ["outage", "ended"]]


async def test_another_error_goes_up_at_once_and_is_no_outage(redis_url: str) -> None:
    client = make_client(redis_url)
    monitor = OutageMonitor("redis")
    try:
        with pytest.raises(ResponseError):
            await OutageRetry(monitor).call(lambda: client.execute_command("NO-SUCH-COMMAND"))  # type: ignore[no-untyped-call]
    finally:
        await client.aclose()
    assert not monitor.down


@pytest.mark.parametrize("policy", ["read", "none"])
async def test_a_read_is_resent_once_on_a_dropped_connection_only_by_readers(
    redis_url: str, policy: str
) -> None:
    """The read model's clients ("read") send a read again on a new connection when the old
    one was dropped; every other client ("none") sends nothing twice by itself."""
    client = make_client(redis_url, retry="read" if policy == "read" else "none")
    killer = make_client(redis_url)
    try:
        await client.set("connect:key", "value")
        await killer.execute_command("CLIENT", "KILL", "ID", await client.client_id())  # type: ignore[no-untyped-call]
        if policy == "read":
            assert text(await client.get("connect:key")) == "value"
        else:
            with pytest.raises(RedisConnectionError):
                await client.get("connect:key")
    finally:
        await client.aclose()
        await killer.aclose()
