"""A user's application: the shipped container plus services of their own.

This is the "add a task with one decorated method and one provider line" path, used by the
end-to-end and fault tests through `--app tests.apps.custom:Container`.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING

from dependency_injector import providers

from container import Container as AppContainer
from worker import current_fire, interval, timeout
from worker.scheduler.registry import SchedulerRegistry

if TYPE_CHECKING:
    from redis.asyncio import Redis


class ProbeTasks:
    """Writes what it sees to Redis lists the tests read: `probe:<event>`."""

    def __init__(self, redis: Redis, registry: SchedulerRegistry, slow_seconds: str) -> None:
        self._redis = redis
        self._registry = registry
        self._slow_seconds = float(slow_seconds)

    async def on_startup(self) -> None:
        await self._redis.rpush("probe:hooks", "startup")

    async def on_shutdown(self) -> None:
        await self._redis.rpush("probe:hooks", "shutdown")

    @interval("200ms", name="probe-tick", scope="instance")
    async def tick(self) -> None:
        await self._redis.rpush("probe:ticks", current_fire().id)
        command = await self._redis.lpop("probe:commands")
        if command == b"pause":
            self._registry.pause("probe-tick")
            await self._redis.rpush("probe:events", "paused")
            asyncio.get_running_loop().call_later(1.0, self._registry.resume, "probe-tick")

    @timeout("100ms", name="probe-slow")
    async def slow(self) -> None:
        await self._redis.rpush("probe:slow", "started")
        await asyncio.sleep(self._slow_seconds)
        await self._redis.rpush("probe:slow", "finished")

    # Sub-second schedules are for code, not settings: tests pick this one's through the env.
    @interval(os.environ.get("PROBE_FAIL_EVERY", "1h"), name="probe-fail")
    async def fail(self) -> None:
        """Fails until the test sets `probe:healthy` (tests set PROBE_FAIL_EVERY to run it)."""
        if not await self._redis.exists("probe:healthy"):
            raise RuntimeError("probe failure")

    @interval(os.environ.get("PROBE_STUCK_EVERY", "1h"), name="probe-stuck")
    async def stuck(self) -> None:
        """Runs PROBE_STUCK_SECONDS, longer than three of its periods: the stuck-run alarm."""
        await asyncio.sleep(float(os.environ.get("PROBE_STUCK_SECONDS", "0")))

    @interval("1s", name="probe-plain", disabled=True)
    def plain(self) -> None:
        time.sleep(0.01)


class SecondService:
    """A second service with hooks: startup runs after ProbeTasks', shutdown before."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def on_startup(self) -> None:  # a plain hook runs in a thread
        if os.environ.get("PROBE_FAIL_STARTUP"):
            raise RuntimeError("cannot start")
        if os.environ.get("PROBE_BLOCK_STARTUP"):
            time.sleep(3600)

    async def on_shutdown(self) -> None:
        await self._redis.rpush("probe:hooks", "second-shutdown")
        if os.environ.get("PROBE_BLOCK_SHUTDOWN"):
            await asyncio.sleep(3600)


class Container(AppContainer):
    slow_seconds = providers.Callable(os.environ.get, "PROBE_SLOW_SECONDS", "0.1")
    probe = providers.Singleton(
        ProbeTasks, AppContainer.redis, AppContainer.scheduler_registry, slow_seconds
    )
    second = providers.Singleton(SecondService, AppContainer.redis)
