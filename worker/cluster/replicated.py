"""Claims on a primary with replicas (REDIS_SENTINELS): acknowledged, or confirmed.

Each claim is followed by a WAIT on its connection, so a failover right after it cannot
lose it unseen. A claim no replica acknowledged runs only once the sentinels confirm that
the primary it was made on is still the primary (one query): after a planned failover the
old primary takes writes until it is demoted, and a fire claimed there would be claimed
again on the new one. Claimed on a primary that is no longer one, the claim is refused as
an outage (`PrimaryMoved`): the fire is claimed again, on the new primary.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from loguru import logger
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError

from worker.cluster import scripts
from worker.connect.errors import describe_error

if TYPE_CHECKING:
    from redis.asyncio import Redis

REPLICAS_REREAD = 5.0
"""Seconds between looks at a replica-less primary's replica count."""


class PrimaryMoved(RedisConnectionError):
    """The claim was made on a primary the sentinels no longer name: claim again."""


class ReplicatedClaims:
    """The claim and its WAIT on one connection; an unacknowledged claim confirmed."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._replicas: int | None = None
        self._reread_at = 0.0

    def primary_switched(self) -> None:
        """The sentinels announced a new primary: its replicas are counted anew."""
        self._replicas = None

    async def claim(
        self, keys: list[str], args: list[Any], replicas: int, wait_ms: int
    ) -> tuple[Any, int]:
        """A primary known to have no replica (a freshly promoted one) is not waited on; its
        replica count is re-read after an error and every REPLICAS_REREAD seconds while it
        has none. Returns the script's reply and how many replicas acknowledged."""
        loop = asyncio.get_running_loop()
        if self._replicas is None or (self._replicas == 0 and loop.time() > self._reread_at):
            info = await self._redis.info("replication")
            self._replicas = int(info.get("connected_slaves", 0))
            self._reread_at = loop.time() + REPLICAS_REREAD
        wanted = replicas if self._replicas else 0
        # EVAL, not EVALSHA: a NOSCRIPT on a freshly promoted primary would cost a whole WAIT.
        pipe = self._redis.pipeline(transaction=False)
        # The pipeline's connection taken here, so the primary it reached is known: the
        # pool's address may have moved on since, through another connection.
        connection = pipe.connection = await self._redis.connection_pool.get_connection()  # type: ignore[no-untyped-call]
        pipe.execute_command("EVAL", scripts.CLAIM, len(keys), *keys, *args)
        pipe.execute_command("WAIT", wanted, wait_ms if wanted else 0)
        try:
            replies = await pipe.execute(raise_on_error=False)
        except BaseException:
            self._replicas = None
            raise
        if isinstance(replies[0], Exception):
            self._replicas = None
            raise replies[0]
        acked = int(replies[1]) if wanted else 0
        pool = self._redis.connection_pool
        if acked == 0 and isinstance(pool, SentinelConnectionPool):
            await self._confirm(pool, (str(connection.host), int(connection.port)))
        return replies[0], acked

    async def _confirm(self, pool: SentinelConnectionPool, claimed_on: tuple[str, int]) -> None:
        """Raise PrimaryMoved unless the sentinels still name the primary claimed on; when
        they cannot be asked, the claim stands."""
        try:
            named = await pool.sentinel_manager.discover_master(pool.service_name)
        except Exception as exc:
            logger.bind(error=describe_error(exc)).warning(
                "claim not acknowledged and the sentinels could not confirm its primary: "
                "running anyway"
            )
            return
        if (str(named[0]), int(named[1])) == claimed_on:
            return
        self._replicas = None
        await pool.disconnect(inuse_connections=True)
        where = f"{claimed_on[0]}:{claimed_on[1]}"
        raise PrimaryMoved(f"claimed on {where}, no longer the primary: claiming again")
