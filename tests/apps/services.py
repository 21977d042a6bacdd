"""A user's application with long-running services of its own (`app_services`).

`Ticker` starts with the application (every command), `Beacon` only in `run`, just before
`ready`; both log when they start and close, and `Ticker` says whether the heartbeat file
is still there when it closes (the framework's services close after the application's).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from dependency_injector import providers
from loguru import logger
from typing_extensions import override

from container import Container as AppContainer
from worker import Service, Stage
from worker.concurrency import cancel_and_wait

if TYPE_CHECKING:
    from redis.asyncio import Redis


class Ticker(Service):
    """Pushes a tick to `probe:ticker` every 50 ms while it runs."""

    def __init__(self, redis: Redis, heartbeat_file: Path) -> None:
        self._redis = redis
        self._heartbeat_file = heartbeat_file
        self._task: asyncio.Task[None] | None = None

    @override
    async def start(self) -> None:
        self._task = asyncio.create_task(self._tick(), name="ticker")
        logger.info("ticker started")

    @override
    async def close(self, timeout: float) -> None:
        if self._task is not None:
            # Within the deadline: redis-py (8.x) can swallow a cancellation that lands
            # inside a command, and this loop would then go on for ever.
            await cancel_and_wait([self._task], timeout=max(timeout, 0.01))
        logger.bind(heartbeat=self._heartbeat_file.exists()).info("ticker closed")

    async def _tick(self) -> None:
        while True:
            await self._redis.rpush("probe:ticker", "tick")
            await asyncio.sleep(0.05)


class Beacon(Service):
    stage = Stage.READY

    @override
    async def start(self) -> None:
        logger.info("beacon started")

    @override
    def stop_intake(self) -> None:
        logger.info("beacon stops intake")

    @override
    async def close(self, timeout: float) -> None:
        logger.info("beacon closed")


class Hooks:
    def on_startup(self) -> None:
        logger.info("startup hook")

    def on_shutdown(self) -> None:
        logger.info("shutdown hook")


class Container(AppContainer):
    ticker = providers.Singleton(
        Ticker, AppContainer.redis, AppContainer.settings.provided.heartbeat_file
    )
    beacon = providers.Singleton(Beacon)
    hooks = providers.Singleton(Hooks)
    app_services = providers.List(ticker, beacon)
