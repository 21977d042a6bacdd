"""Connection pools that wait for a free connection rather than fail at once.

redis-py's default pool raises as soon as all its connections are busy: a hundred tasks
doing one command at one instant made some of them fail, and those failures read as a Redis
outage. These pools make a command wait for a connection, at most the client's timeout
(REDIS_TIMEOUT); one that waited in vain fails with `PoolExhausted`, which is no outage
(the server answers: the client is busy). Imported by `make_client` only (redis-py with it).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio.connection import AbstractConnection, BlockingConnectionPool
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError
from typing_extensions import override


class PoolExhausted(MaxConnectionsError):
    """Every connection of one client stayed busy for the whole wait (no outage)."""


class WaitingPool(BlockingConnectionPool):
    """`BlockingConnectionPool` whose vain wait says what it is (`PoolExhausted`)."""

    @override
    async def get_connection(self, *args: Any, **kwargs: Any) -> AbstractConnection:
        try:
            connection: AbstractConnection = await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        except RedisConnectionError as exc:
            # The wait's own expiry is the only ConnectionError raised from a TimeoutError
            # here: connecting raises redis' TimeoutError instead.
            if isinstance(exc.__cause__, TimeoutError) and not isinstance(exc, MaxConnectionsError):
                raise PoolExhausted(
                    f"no free connection within {self.timeout:g}s (all {self.max_connections} busy)"
                ) from None
            raise
        return connection


class SentinelWaitingPool(SentinelConnectionPool, WaitingPool):
    """The master Sentinel names, reached through a `WaitingPool`."""
