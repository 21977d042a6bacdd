"""A client's commands beyond its pool wait for a free connection instead of failing at once,
and a wait that runs out is no outage (before: redis-py's pool raised MaxConnectionsError as
soon as its 100 connections were busy, and the worker called that a Redis outage)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import MaxConnectionsError

from tests.support import RedisServer, sentinel_of, until
from worker.connect.errors import is_redis_outage
from worker.connect.redis import MAX_CONNECTIONS, close_client, make_client

AT_ONCE = 300
HOLD = 0.2
"""Each command holds its connection this long (a BLPOP on an empty list), so that all of
them are in flight at one instant whatever the machine's speed."""


async def hold_all(client: Redis, count: int, seconds: float) -> list[object]:
    """`count` commands started at one instant, each holding a connection `seconds`."""
    hold = [client.blpop(["pool:empty"], timeout=seconds) for _ in range(count)]
    return await asyncio.gather(*hold, return_exceptions=True)


async def blocked(client: Redis) -> int:
    info = await client.info("clients")
    return int(info["blocked_clients"])


async def test_three_times_the_pool_at_one_instant_all_succeed(redis_url: str) -> None:
    client = make_client(redis_url)
    try:
        results = await hold_all(client, AT_ONCE, HOLD)
    finally:
        await close_client(client)
    failed = [r for r in results if isinstance(r, BaseException)]
    assert not failed, f"{len(failed)} of {AT_ONCE} failed, e.g. {failed[0]!r}"


async def test_a_wait_longer_than_the_timeout_fails_and_is_no_outage(
    redis_url: str, client: Redis
) -> None:
    """The wait is bounded by the client's timeout (REDIS_TIMEOUT); its failure names the
    busy pool, and is the caller's failure, not a Redis outage."""
    busy = make_client(redis_url, timeout=0.3, read_timeout=10.0)
    holding = asyncio.create_task(hold_all(busy, MAX_CONNECTIONS, 3.0))
    try:
        await until(lambda: busy.connection_pool.can_get_connection() is False, what="a full pool")
        await until_blocked(client, MAX_CONNECTIONS)
        started = asyncio.get_running_loop().time()
        with pytest.raises(MaxConnectionsError) as raised:
            await busy.ping()
        waited = asyncio.get_running_loop().time() - started
    finally:
        holding.cancel()
        await asyncio.gather(holding, return_exceptions=True)
        await busy.aclose()
    assert 0.25 <= waited < 2.0
    assert "no free connection within 0.3s" in str(raised.value)
    assert not is_redis_outage(raised.value)


async def until_blocked(client: Redis, count: int) -> None:
    async with asyncio.timeout(10):
        while await blocked(client) < count:
            await asyncio.sleep(0.02)


@pytest.fixture
def sentinels(own_redis: RedisServer) -> Iterator[str]:
    with sentinel_of(own_redis) as found:
        yield found


async def test_through_sentinel_too_commands_beyond_the_pool_wait(sentinels: str) -> None:
    host, port = sentinels.split(":")
    client = make_client("redis://unused:1/0", sentinels=((host, int(port)),))
    try:
        results = await hold_all(client, AT_ONCE, HOLD)
    finally:
        await close_client(client)
    failed = [r for r in results if isinstance(r, BaseException)]
    assert not failed, f"{len(failed)} of {AT_ONCE} failed, e.g. {failed[0]!r}"
