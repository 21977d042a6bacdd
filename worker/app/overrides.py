"""The operator's per-task settings applied to the discovered tasks: their definitions.

A setting that names no discovered task is a configuration error: a typo must not silently
leave the default running.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from worker.app.discovery import DiscoveredTask
from worker.errors import ConfigError, quoted
from worker.schedule.cron import IntervalSchedule, Schedule, parse_schedule
from worker.schedule.definitions import TaskDefinition
from worker.settings.durations import is_duration
from worker.settings.per_task import task_env_key

MIN_SCHEDULE_SETTING = 1.0
"""A schedule setting under a second is refused: `1ms` is likely a typo for `1m`, and would
log hundreds of lines a second (code may still ask for sub-second intervals)."""


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
            raise ConfigError(f"DISABLED_TASKS: no task named {quoted(name)} (tasks: {known})")
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
            schedule = parse_schedule_setting(overrides.schedules[key])
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
        recover=spec.recover,
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


def parse_schedule_setting(text: str) -> Schedule:
    """A SCHEDULE_<TASK> value: cron, or a duration of at least a second."""
    value = text.strip()
    if value.startswith("-") and is_duration(value[1:]):
        raise ValueError(f"interval {quoted(value)} is negative (a duration must be > 0)")
    schedule = parse_schedule(value)
    if isinstance(schedule, IntervalSchedule) and schedule.seconds < MIN_SCHEDULE_SETTING:
        count = value.removesuffix("ms")
        typo = (
            f" (a typo for {count}m?)"
            if value != count and count.isascii() and count.isdigit() and int(count) < 60
            else ""
        )
        raise ValueError(
            f"interval {quoted(value)} is under 1s{typo}; "
            "sub-second intervals can be set in code only"
        )
    return schedule
