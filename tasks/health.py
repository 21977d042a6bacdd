"""Every 30 seconds: this process's memory and CPU, the host's memory, loop lag, Redis ping."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import psutil
from loguru import logger

from worker import interval
from worker.instance import InstanceState
from worker.outage import OutageMonitor, describe_error, is_connection_error

if TYPE_CHECKING:
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
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # primes the counter: the first reading is since now

    @interval("30s", name="health-check", time_limit="10s")
    async def check(self) -> None:
        rss_mb = round(self._process.memory_info().rss / MB, 1)
        figures = {
            "rss_mb": rss_mb,
            "cpu_percent": self._process.cpu_percent(None),
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
            await self._redis.ping()
        except Exception as exc:
            if not is_connection_error(exc):
                raise
            self._outage.failure(exc)
            logger.bind(task="health-check", error=describe_error(exc)).debug("redis ping failed")
            return None
        self._outage.success()
        return round((time.perf_counter() - started) * 1000, 2)


async def _loop_lag_ms() -> float:
    """How long a callback waits for the loop right now: a blocked loop shows here."""
    started = time.perf_counter()
    await asyncio.sleep(0)
    return round((time.perf_counter() - started) * 1000, 3)
