"""`@cron`, `@interval`, `@timeout`: validate the arguments and attach a frozen spec; nothing else.

Nothing is scheduled here: the application context discovers the specs at bootstrap.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker.errors import DefinitionError
from worker.schedule.cron import IntervalSchedule, OnceSchedule, Schedule, parse_cron
from worker.settings.durations import parse_duration

Scope = Literal["cluster", "instance"]
SCOPES: tuple[Scope, ...] = ("cluster", "instance")
SPEC_ATTRIBUTE = "__worker_task__"

F = TypeVar("F", bound=Callable[..., Any])

MIN_INTERVAL = 0.1
"""The shortest `@interval` in code (a setting's SCHEDULE_* may not go under 1 s)."""


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """What a decorator says about a method; `time_limit=None` means "not set here"."""

    schedule: Schedule
    name: str | None
    timezone: str | None
    scope: Scope
    time_limit: float | None
    disabled: bool
    recover: bool = True


def cron(
    expression: str,
    *,
    name: str | None = None,
    timezone: str | None = None,
    scope: Scope = "cluster",
    time_limit: float | str | None = None,
    disabled: bool = False,
    recover: bool = True,
) -> Callable[[F], F]:
    """Run the method on a cron schedule (5 or 6 fields, or a macro such as `@daily`).

    `recover=False`: a fire whose claimer died mid-run is not run again (at most once).
    """

    def build(label: str) -> Schedule:
        return parse_cron(expression)

    return _decorator(build, name, timezone, scope, time_limit, disabled, recover)


def interval(
    every: float | str,
    *,
    name: str | None = None,
    timezone: str | None = None,
    scope: Scope = "instance",
    time_limit: float | str | None = None,
    disabled: bool = False,
) -> Callable[[F], F]:
    """Run the method every `every` seconds (a number, or `500ms`, `30s`, `15m`, `1h`)."""

    def build(label: str) -> Schedule:
        seconds = parse_duration(every)
        if seconds <= 0:
            raise ValueError("interval must be > 0")
        if seconds < MIN_INTERVAL:  # each fire is a run, a log line and a record
            raise ValueError(f"interval {every!r} is under 100ms (a typo for a longer one?)")
        return IntervalSchedule(seconds)

    return _decorator(build, name, timezone, scope, time_limit, disabled)


def timeout(
    after: float | str,
    *,
    name: str | None = None,
    timezone: str | None = None,
    scope: Scope = "instance",
    time_limit: float | str | None = None,
    disabled: bool = False,
) -> Callable[[F], F]:
    """Run the method once, `after` seconds after start-up (not a time limit: see `time_limit=`)."""

    def build(label: str) -> Schedule:
        return OnceSchedule(parse_duration(after))

    return _decorator(build, name, timezone, scope, time_limit, disabled)


def get_spec(member: object) -> TaskSpec | None:
    spec = getattr(member, SPEC_ATTRIBUTE, None)
    return spec if isinstance(spec, TaskSpec) else None


def _decorator(
    build: Callable[[str], Schedule],
    name: str | None,
    timezone: str | None,
    scope: str,
    time_limit: float | str | None,
    disabled: bool,
    recover: bool = True,
) -> Callable[[F], F]:
    def attach(method: F) -> F:
        # Above @staticmethod/@classmethod too: the spec goes on the function they wrap.
        function = method.__func__ if isinstance(method, staticmethod | classmethod) else method
        label = name or getattr(function, "__name__", "?").replace("_", "-")
        spec = _validate(function, label, build, name, timezone, scope, time_limit, disabled)
        if not recover:
            if not isinstance(recover, bool):
                raise DefinitionError(f"task {label!r}: recover must be True or False")
            spec = replace(spec, recover=False)
        setattr(function, SPEC_ATTRIBUTE, spec)
        return method

    return attach


def _validate(
    method: Callable[..., Any],
    label: str,
    build: Callable[[str], Schedule],
    name: str | None,
    timezone: str | None,
    scope: str,
    time_limit: float | str | None,
    disabled: bool,
) -> TaskSpec:
    def fail(problem: str) -> DefinitionError:
        return DefinitionError(f"task {label!r}: {problem}")

    if get_spec(method) is not None:
        raise fail("a method carries one schedule decorator only")
    if not callable(method):
        raise fail("the decorator goes on a method")
    if name is not None and (not name or name != name.strip() or "," in name):
        raise fail("name must be non-empty, without spaces around it or commas")
    if scope not in SCOPES:
        raise fail(f"scope must be 'cluster' or 'instance', not {scope!r}")
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise fail(f"unknown time zone {timezone!r}") from None
    try:
        schedule = build(label)
        limit = None if time_limit is None else parse_duration(time_limit)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if limit and not inspect.iscoroutinefunction(method):
        raise fail("time_limit needs an async method (a thread cannot be cancelled)")
    if required_arguments(method) > 1:
        raise fail("a task method takes no arguments besides self (use current_fire())")
    return TaskSpec(schedule, name, timezone, scope, limit, disabled)


def required_arguments(method: Callable[..., Any]) -> int:
    """Parameters a call must supply, `self` included."""
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return 0
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return sum(1 for p in parameters if p.default is p.empty and p.kind not in variadic)
