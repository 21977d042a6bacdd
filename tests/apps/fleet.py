"""A fleet's application: the shipped container plus cluster probes the fleet tests read.

Each probe appends `<fire id>|<instance>|<recovered>|<missed>` to a Redis list when its run
starts (`fleet:<task>:start`) and when it ends (`fleet:<task>:end`), and, with FLEET_JOURNAL
(a folder), to a file there (what a failover cannot lose); schedules come from the env.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING

from dependency_injector import providers

from container import Container as AppContainer
from worker import InstanceState, cron, current_fire

if TYPE_CHECKING:
    from redis.asyncio import Redis

NEVER = "0 0 1 1 *"


class FleetProbes:
    def __init__(self, redis: Redis, instance: InstanceState) -> None:
        self._redis = redis
        self._instance = instance

    async def _mark(self, task: str, event: str) -> None:
        fire = current_fire()
        entry = f"{fire.id}|{self._instance.id}|{int(fire.recovered)}|{fire.missed}"
        if journal := os.environ.get("FLEET_JOURNAL"):  # a witness outside Redis
            with open(f"{journal}/{self._instance.id}.{task}.{event}", "a") as lines:  # noqa: ASYNC230
                lines.write(entry + "\n")
        await self._redis.rpush(f"fleet:{task}:{event}", entry)

    @cron(os.environ.get("FLEET_TICK_CRON", NEVER), name="fleet-tick")
    async def tick(self) -> None:
        await self._mark("tick", "start")

    @cron(os.environ.get("FLEET_SLOW_CRON", NEVER), name="fleet-slow")
    async def slow(self) -> None:
        await self._mark("slow", "start")
        await asyncio.sleep(float(os.environ.get("FLEET_SLOW_SECONDS", "3")))
        await self._mark("slow", "end")

    @cron(os.environ.get("FLEET_BLOCK_CRON", NEVER), name="fleet-block")
    async def block(self) -> None:
        """Holds the event loop (a synchronous sleep in an `async def`)."""
        await self._mark("block", "start")
        time.sleep(float(os.environ.get("FLEET_BLOCK_SECONDS", "3")))  # noqa: ASYNC251
        await self._mark("block", "end")

    @cron(os.environ.get("FLEET_ONCE_CRON", NEVER), name="fleet-once", recover=False)
    async def once(self) -> None:
        await self._mark("once", "start")
        await asyncio.sleep(float(os.environ.get("FLEET_SLOW_SECONDS", "3")))
        await self._mark("once", "end")


class Container(AppContainer):
    fleet = providers.Singleton(FleetProbes, AppContainer.redis, AppContainer.instance)
