"""Following a Sentinel switch as it is announced, not when the old primary is demoted.

After a planned failover (`SENTINEL FAILOVER`) the old primary keeps taking writes for
seconds, until the sentinels reconfigure it as a replica: a client still connected to it
writes there, and what it writes is lost. The sentinels announce the switch at once on
their `+switch-master` channel; this service listens to one sentinel at a time (the next
one when it goes away) and, for the master the worker uses, drops every connection its
clients hold, so the next command goes to the new primary; then it tells its listeners.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from loguru import logger
from typing_extensions import override

from worker.concurrency import cancel_and_wait
from worker.connect.errors import describe_error
from worker.connect.redis import keepalive_options, text
from worker.lifecycle import Service

if TYPE_CHECKING:
    from redis.asyncio import Redis

SWITCH_CHANNEL = "+switch-master"
RECONNECT = 1.0
"""Seconds before the next sentinel is tried after one went away."""


class SentinelWatch(Service):
    """Every command with REDIS_SENTINELS (none without: it does nothing then)."""

    def __init__(
        self,
        sentinels: tuple[tuple[str, int], ...],
        master: str,
        timeout: float,
        clients: Sequence[Redis],
        listeners: Sequence[Callable[[], None]] = (),
    ) -> None:
        self._sentinels = sentinels
        self._master = master
        self._timeout = timeout
        self._clients = tuple(clients)
        self._listeners = tuple(listeners)
        self._task: asyncio.Task[None] | None = None

    @override
    async def start(self) -> None:
        if self._sentinels:
            self._task = asyncio.create_task(self._watch(), name="sentinel-watch")

    @override
    async def close(self, timeout: float) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task], timeout=max(timeout, 0.01))
            self._task = None

    async def _watch(self) -> None:
        turn = 0
        while True:
            host, port = self._sentinels[turn % len(self._sentinels)]
            turn += 1
            try:
                await self._listen(host, port)
            except Exception as exc:
                logger.bind(sentinel=f"{host}:{port}", error=describe_error(exc)).debug(
                    "sentinel watch lost its sentinel: trying the next"
                )
            await asyncio.sleep(RECONNECT)

    async def _listen(self, host: str, port: int) -> None:
        from redis.asyncio import Redis

        sentinel = Redis(
            host=host,
            port=port,
            socket_connect_timeout=self._timeout,
            socket_keepalive=True,
            socket_keepalive_options=keepalive_options(),
        )
        try:
            async with sentinel.pubsub() as pubsub:
                await pubsub.subscribe(SWITCH_CHANNEL)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        await self._announced(text(message["data"]))
        finally:
            await sentinel.aclose()

    async def _announced(self, data: str) -> None:
        """`<master> <old ip> <old port> <new ip> <new port>`."""
        fields = data.split()
        if len(fields) != 5 or fields[0] != self._master:
            return
        logger.bind(
            master=self._master, old=f"{fields[1]}:{fields[2]}", new=f"{fields[3]}:{fields[4]}"
        ).warning("redis primary switched: connections to the old one dropped")
        for client in self._clients:
            try:
                await client.connection_pool.disconnect(inuse_connections=True)
            except Exception as exc:
                logger.bind(error=describe_error(exc)).warning("connections not dropped")
        for listener in self._listeners:
            listener()
