"""`SchedulerRegistry`: what services use to look at and steer the schedule at run time."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from worker.decorators import Scope
from worker.definitions import TaskDefinition
from worker.durations import parse_duration
from worker.errors import DefinitionError
from worker.schedules import parse_schedule

if TYPE_CHECKING:
    from worker.scheduling import Orchestrator


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
    """Provided by the container; usable once the application context has started."""

    def __init__(self) -> None:
        self._orchestrator: Orchestrator | None = None

    def attach(self, orchestrator: Orchestrator | None) -> None:
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

    def run_now(self, name: str) -> asyncio.Task[None] | None:
        """Fire the task now (folded into its run if one is going); returns the new run."""
        self._definition(name)
        task: asyncio.Task[None] | None = self._live().run_now(name)
        return task

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
        if self._orchestrator is None:
            raise RuntimeError("the scheduler is not running")
        return self._orchestrator

    def _definition(self, name: str) -> TaskDefinition:
        try:
            return self._live().definitions[name]
        except KeyError:
            raise KeyError(f"no task named {name!r}") from None
