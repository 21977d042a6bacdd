"""The Redis client as a dependency-injector Resource: created lazily, closed at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

CONNECT_TIMEOUT = 2.0
COMMAND_TIMEOUT = 5.0


@contextlib.asynccontextmanager
async def command_deadline(seconds: float = COMMAND_TIMEOUT) -> AsyncIterator[None]:
    """Bound Redis commands; expiry raises redis' TimeoutError, which counts as an outage.

    Instead of redis-py's `socket_timeout`, which costs a Task and a timer per command
    sent: the bulk of an idle worker's CPU.
    """
    from redis.exceptions import TimeoutError as RedisTimeoutError

    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise RedisTimeoutError(f"no reply from redis within {seconds:g}s") from None


def make_redis(url: str, *, connect_timeout: float = CONNECT_TIMEOUT) -> Redis:
    """A client with redis-py's own retry off: it would re-send a PUBLISH after a lost reply
    without a word; every caller retries in its own loop instead, with its own backoff."""
    from redis.asyncio import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client: Redis = Redis.from_url(
        url,
        retry=Retry(NoBackoff(), 0),
        socket_connect_timeout=connect_timeout,
        client_name="crypto-stats-worker",
    )
    return client


async def redis_resource(url: str) -> AsyncIterator[Redis]:
    """`providers.Resource(redis_resource, url=...)`: no connection is made until first use,
    so a Redis outage does not stop start-up."""
    client = make_redis(url)
    try:
        yield client
    finally:
        await client.aclose()
