"""`SchedulerRegistry`: what services use to look at and steer the schedule at run time."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from worker.errors import DefinitionError
from worker.schedule.cron import parse_schedule
from worker.schedule.decorators import Scope
from worker.schedule.definitions import TaskDefinition
from worker.settings.durations import parse_duration

if TYPE_CHECKING:
    from worker.run.records import RunRecord
    from worker.scheduler.orchestrator import Orchestrator


@dataclass(frozen=True, slots=True)
class TaskInfo:
    name: str
    schedule: str
    scope: Scope
    time_limit: float
    next_fire: datetime | None
    disabled: bool
    paused: bool
    running: bool


class SchedulerRegistry:
    """Provided by the container; usable once the application context has mounted the tasks.

    Safe to call from a plain (threaded) task method: `run_now` then hands the run to the
    event loop and returns a `concurrent.futures.Future` of its record.
    """

    def __init__(self, orchestrator: Orchestrator) -> None:
        self._orchestrator = orchestrator

    def tasks(self) -> list[TaskInfo]:
        orchestrator = self._live()
        return [self.get(name) for name in orchestrator.definitions]

    def get(self, name: str) -> TaskInfo:
        orchestrator = self._live()
        definition = self._definition(name)
        return TaskInfo(
            name=name,
            schedule=definition.describe(),
            scope=definition.scope,
            time_limit=definition.time_limit,
            next_fire=orchestrator.next_fire(name),
            disabled=definition.disabled,
            paused=orchestrator.paused(name),
            running=orchestrator.running(name),
        )

    def pause(self, name: str) -> None:
        self._definition(name)
        self._live().pause(name)

    def resume(self, name: str) -> None:
        self._definition(name)
        self._live().resume(name)

    def run_now(
        self, name: str
    ) -> asyncio.Task[RunRecord] | concurrent.futures.Future[RunRecord | None] | None:
        """Fire the task now (folded into its run if one is going); returns the new run."""
        self._definition(name)
        orchestrator = self._live()
        loop = orchestrator.loop
        if loop is None or _running_loop() is loop:  # (_live() saw a loop)
            task: asyncio.Task[RunRecord] | None = orchestrator.run_now(name)
            return task
        return asyncio.run_coroutine_threadsafe(_run_and_wait(orchestrator, name), loop)

    def add(
        self,
        name: str,
        method: Callable[[], Any],
        schedule: str | float,
        *,
        scope: Scope = "instance",
        time_limit: float | str = 0,
        timezone: Any = None,
    ) -> None:
        """Schedule a callable at run time (a duration or a cron expression)."""
        orchestrator = self._live()
        if name in orchestrator.definitions:
            raise DefinitionError(f"task {name!r}: duplicate name")
        try:
            parsed = parse_schedule(str(schedule) if not isinstance(schedule, str) else schedule)
            limit = parse_duration(time_limit)
        except ValueError as exc:
            raise DefinitionError(f"task {name!r}: {exc}") from None
        is_async = inspect.iscoroutinefunction(method)
        if limit and not is_async:
            raise DefinitionError(f"task {name!r}: time_limit needs an async method")
        definition = TaskDefinition(
            name=name,
            provider="registry",
            attribute=getattr(method, "__name__", name),
            schedule=parsed,
            scope=scope,
            timezone=timezone or orchestrator.timezone,
            time_limit=limit,
            disabled=False,
            is_async=is_async,
        )
        orchestrator.mount(definition, method)

    def remove(self, name: str) -> None:
        self._definition(name)
        self._live().unmount(name)

    def _live(self) -> Orchestrator:
        if self._orchestrator.loop is None:
            raise RuntimeError("the scheduler is not running")
        return self._orchestrator

    def _definition(self, name: str) -> TaskDefinition:
        try:
            return self._live().definitions[name]
        except KeyError:
            raise KeyError(f"no task named {name!r}") from None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _run_and_wait(orchestrator: Orchestrator, name: str) -> RunRecord | None:
    run = orchestrator.run_now(name)
    return None if run is None else await run
