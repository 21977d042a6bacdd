"""A discovered task with the operator's settings applied: the effective schedule and limits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from worker.decorators import Scope
from worker.discovery import DiscoveredTask
from worker.errors import ConfigError
from worker.schedules import Schedule, describe, is_subsecond, next_fire, parse_schedule
from worker.settings import task_env_key


@dataclass(frozen=True, slots=True)
class TaskDefinition:
    """Everything the scheduler and the run wrapper need to know about one task."""

    name: str
    provider: str
    attribute: str
    schedule: Schedule
    scope: Scope
    timezone: tzinfo
    time_limit: float
    disabled: bool
    is_async: bool

    @property
    def aligned(self) -> bool:
        """Cluster intervals fire on epoch multiples so every replica agrees on the instants."""
        return self.scope == "cluster"

    @property
    def precise(self) -> bool:
        return is_subsecond(self.schedule)

    def describe(self) -> str:
        return describe(self.schedule)

    def next_fire(self, now: datetime) -> datetime | None:
        if self.disabled:
            return None
        return next_fire(self.schedule, timezone=self.timezone, aligned=self.aligned, now=now)


@dataclass(frozen=True, slots=True)
class Overrides:
    """The operator's per-task settings, keyed as the environment spells them."""

    default_timezone: str = "UTC"
    schedules: Mapping[str, str] = field(default_factory=dict)
    time_limits: Mapping[str, float] = field(default_factory=dict)
    default_time_limit: float = 0.0
    disabled: tuple[str, ...] = ()


def resolve(tasks: Iterable[DiscoveredTask], overrides: Overrides) -> list[TaskDefinition]:
    """Apply overrides; any that names no discovered task is a configuration error."""
    found = list(tasks)
    by_key = {task_env_key(task.name): task for task in found}
    known = ", ".join(task.name for task in found) or "none"
    _check_names("SCHEDULE_", dict(overrides.schedules), by_key, known)
    _check_names("TASK_TIME_LIMIT_", dict(overrides.time_limits), by_key, known)
    names = {task.name for task in found}
    for name in overrides.disabled:
        if name not in names:
            raise ConfigError(f"DISABLED_TASKS: no task named {name!r} (tasks: {known})")
    default_tz = ZoneInfo(overrides.default_timezone)
    disabled = set(overrides.disabled)
    return [_definition(task, overrides, default_tz, disabled) for task in found]


def _check_names(
    prefix: str, values: Mapping[str, Any], by_key: Mapping[str, DiscoveredTask], known: str
) -> None:
    for key in values:
        if key not in by_key:
            raise ConfigError(f"{prefix}{key}: no task with that name (tasks: {known})")


def _definition(
    task: DiscoveredTask, overrides: Overrides, default_tz: tzinfo, disabled: set[str]
) -> TaskDefinition:
    key = task_env_key(task.name)
    spec = task.spec
    schedule = spec.schedule
    if key in overrides.schedules:
        try:
            schedule = parse_schedule(overrides.schedules[key])
        except ValueError as exc:
            raise ConfigError(f"SCHEDULE_{key}: {exc}") from None
    limit = _time_limit(task, key, overrides)
    return TaskDefinition(
        name=task.name,
        provider=task.provider,
        attribute=task.attribute,
        schedule=schedule,
        scope=spec.scope,
        timezone=ZoneInfo(spec.timezone) if spec.timezone else default_tz,
        time_limit=limit,
        disabled=spec.disabled or task.name in disabled,
        is_async=task.is_async,
    )


def _time_limit(task: DiscoveredTask, key: str, overrides: Overrides) -> float:
    """TASK_TIME_LIMIT_<TASK> > the decorator's > TASK_TIME_LIMIT (which plain methods ignore)."""
    if key in overrides.time_limits:
        limit = overrides.time_limits[key]
        if limit and not task.is_async:
            raise ConfigError(
                f"TASK_TIME_LIMIT_{key}: task {task.name!r} is a plain method; "
                "only async methods can be given a time limit"
            )
        return limit
    if task.spec.time_limit is not None:
        return task.spec.time_limit
    return overrides.default_time_limit if task.is_async else 0.0
