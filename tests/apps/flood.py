"""An application whose tasks flood the tasks' Redis client at one instant.

FLOOD_TASKS instance tasks (`flood-000`, …) every FLOOD_EVERY each hold one connection of
the client the container gives tasks (`redis`) for FLOOD_HOLD seconds (a BLPOP on an empty
list); `flood-tick`, a cluster task every second, uses no client of its own: only the
framework's claims and records.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from dependency_injector import providers

from container import Container as AppContainer
from worker import cron, interval

if TYPE_CHECKING:
    from redis.asyncio import Redis

TASKS = int(os.environ.get("FLOOD_TASKS", "300"))
HOLD = float(os.environ.get("FLOOD_HOLD", "0.2"))
EVERY = os.environ.get("FLOOD_EVERY", "2s")

Method = Callable[[Any], Coroutine[Any, Any, None]]


def _flood(index: int) -> Method:
    async def flood(self: Any) -> None:
        await self.redis.blpop(["flood:empty"], timeout=HOLD)

    flood.__name__ = flood.__qualname__ = f"flood_{index:03d}"
    return interval(EVERY, name=f"flood-{index:03d}")(flood)


class FloodTasks:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    @cron("* * * * * *", name="flood-tick")
    async def tick(self) -> None:
        return None


for _index in range(TASKS):
    setattr(FloodTasks, f"flood_{_index:03d}", _flood(_index))


class Container(AppContainer):
    flood = providers.Singleton(FloodTasks, AppContainer.redis)


FLOOD = ("--app", "tests.apps.flood:Container")
