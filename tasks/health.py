"""Every 30 seconds: this process's memory and CPU, the host's memory, loop lag, Redis ping."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from loguru import logger

from worker import (
    CpuMeter,
    InstanceState,
    OutageMonitor,
    describe_error,
    interval,
    is_redis_outage,
    redis_deadline,
)

if TYPE_CHECKING:
    import psutil
    from redis.asyncio import Redis

MB = 1024 * 1024


class HealthTasks:
    def __init__(
        self, redis: Redis, instance: InstanceState, outage: OutageMonitor, memory_limit_mb: int
    ) -> None:
        self._redis = redis
        self._instance = instance
        self._outage = outage
        self._memory_limit_mb = memory_limit_mb
        self._process: psutil.Process | None = None  # psutil is loaded on the first check
        self._cpu = CpuMeter()

    @interval("30s", name="health-check", time_limit="10s")
    async def check(self) -> None:
        if self._process is None:  # importing psutil takes ~10 ms: not on the loop
            self._process = await asyncio.to_thread(_this_process)
        import psutil  # loaded by now

        rss_mb = round(self._process.memory_info().rss / MB, 1)
        figures = {
            "rss_mb": rss_mb,
            "cpu_percent": self._cpu.percent(),
            "system_memory_percent": psutil.virtual_memory().percent,
            "loop_lag_ms": await _loop_lag_ms(),
            "redis_ping_ms": await self._redis_ping_ms(),
        }
        self._instance.health = figures
        log = logger.bind(task="health-check", **figures)
        if rss_mb > self._memory_limit_mb:
            log.bind(limit_mb=self._memory_limit_mb).warning("memory above HEALTH_MEMORY_LIMIT_MB")
        else:
            log.debug("health")

    async def _redis_ping_ms(self) -> float | None:
        started = time.perf_counter()
        try:
            async with redis_deadline():
                await self._redis.ping()
        except Exception as exc:
            if not is_redis_outage(exc):
                raise
            self._outage.failure(exc)
            logger.bind(task="health-check", error=describe_error(exc)).debug("redis ping failed")
            return None
        # No outage.success() here: a demoted primary still answers PING but refuses writes;
        # the writes (trigger, records, heartbeat) say when an outage has ended.
        return round((time.perf_counter() - started) * 1000, 2)


def _this_process() -> psutil.Process:
    import psutil

    return psutil.Process()


async def _loop_lag_ms() -> float:
    """How long a callback waits for the loop right now: a blocked loop shows here."""
    started = time.perf_counter()
    await asyncio.sleep(0)
    return round((time.perf_counter() - started) * 1000, 3)
