"""Mount tasks on APScheduler; every due instant goes to the run wrapper, which decides.

APScheduler's own coalescing, misfire grace and max_instances would drop fires silently,
so the jobs ask for every run time and a small executor hands them all to the `Runner`.
APScheduler is imported when the first task is mounted, not before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from worker.protocol import format_instant
from worker.run.runner import Runner
from worker.schedule.cron import CronSchedule, IntervalSchedule, Schedule
from worker.schedule.definitions import TaskDefinition
from worker.schedule.shared import NextFires, SharedTiming
from worker.schedule.timing import build_timing

_ROUNDING = timedelta(microseconds=10)  # IntervalTrigger adds float timestamps


class Orchestrator:
    """The tasks this process schedules, and the APScheduler that fires them."""

    def __init__(
        self, runner: Runner, timezone: tzinfo, next_fires: NextFires | None = None
    ) -> None:
        self._runner = runner
        self.timezone = timezone
        self._next_fires = next_fires or NextFires()
        self._definitions: dict[str, TaskDefinition] = {}
        self._paused: set[str] = set()
        self._apscheduler: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        """The loop the tasks run on, once `activate()`d: the registry's calls go there."""

    @property
    def definitions(self) -> dict[str, TaskDefinition]:
        return self._definitions

    def add(self, definition: TaskDefinition, method: Callable[[], Any]) -> None:
        """Known and runnable on demand, but not scheduled (`run-task`, disabled tasks)."""
        self._definitions[definition.name] = definition
        self._runner.add(definition, method)

    def mount(self, definition: TaskDefinition, method: Callable[[], Any]) -> None:
        self.add(definition, method)
        if definition.disabled:
            return
        timing = _timing(definition, self._next_fires)
        scheduler = self._scheduler()
        scheduler.lead_cap = self._lead_cap()
        scheduler.add_job(
            method, trigger=timing, id=definition.name, name=definition.name, replace_existing=True
        )
        if definition.name in self._paused:
            self._scheduler().pause_job(definition.name)

    def unmount(self, name: str) -> None:
        self._definitions.pop(name, None)
        self._paused.discard(name)
        self._runner.remove(name)
        if self._job(name) is not None:
            self._scheduler().remove_job(name)

    def activate(self) -> None:
        """The tasks are mounted: the registry may use them from now on."""
        self.loop = asyncio.get_running_loop()

    def start(self) -> None:
        """Start firing (needs the running loop)."""
        self.activate()
        self._scheduler().start()

    def stop(self) -> None:
        """Stop firing; in-flight runs belong to the runner, which drains them."""
        if self._apscheduler is not None and self._apscheduler.running:
            self._apscheduler.shutdown(wait=False)

    def deactivate(self) -> None:
        self.stop()
        self.loop = None

    def pause(self, name: str) -> None:
        """Stop firing `name` until resumed (a disabled task stays disabled either way)."""
        self._paused.add(name)
        if self._job(name) is not None:
            self._scheduler().pause_job(name)

    def resume(self, name: str) -> None:
        self._paused.discard(name)
        if self._job(name) is not None:
            self._scheduler().resume_job(name)

    def paused(self, name: str) -> bool:
        return name in self._paused

    def next_fire(self, name: str) -> datetime | None:
        if self._apscheduler is not None:
            self._apscheduler.settle()  # a round in progress: its next fires now
        job = self._job(name)
        if job is None or job.next_run_time is None:
            return None
        when: datetime = job.next_run_time
        return when.astimezone(UTC)

    def next_fires(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for name in self._definitions:
            when = self.next_fire(name)
            out[name] = format_instant(when, precise=when.microsecond != 0) if when else None
        return out

    def run_now(self, name: str) -> Any:
        """A manual fire (its id: `worker.protocol.manual_id`), claimed like any fire: one
        replica runs it."""
        return self._runner.run_manual(name)

    def running(self, name: str) -> bool:
        return self._runner.running(name)

    def _lead_cap(self) -> timedelta:
        """Half the shortest horizon mounted: a fire is handed over ahead of its instant
        (worker.scheduler.firing) by less, so a hand-over holds one fire per task."""
        horizons = (_horizon(d.schedule) for d in self._definitions.values() if not d.disabled)
        return min(h / 2 for h in horizons)

    def _horizon(self, name: str) -> timedelta:
        definition = self._definitions.get(name)
        return timedelta(0) if definition is None else _horizon(definition.schedule)

    def _job(self, name: str) -> Any:
        return None if self._apscheduler is None else self._apscheduler.get_job(name)

    def _scheduler(self) -> Any:
        if self._apscheduler is None:
            self._apscheduler = _build_scheduler(self._runner, self.timezone, self._horizon)
        return self._apscheduler


def _horizon(schedule: Schedule) -> timedelta:
    """How late a fire may be handed over alone: no later fire of `schedule` can be due yet.

    Cron fires are distinct whole seconds; an interval's are the interval apart (give or
    take IntervalTrigger's float rounding); a one-shot fires once.
    """
    match schedule:
        case CronSchedule():
            return timedelta(seconds=1)
        case IntervalSchedule(seconds):
            return max(timedelta(seconds=seconds) - _ROUNDING, timedelta(0))
    return timedelta.max


def _timing(definition: TaskDefinition, next_fires: NextFires) -> Any:
    """Cron timings share their next fires with every task on the same schedule and zone."""
    if isinstance(definition.schedule, CronSchedule):
        return next_fires.timing(definition.schedule, definition.timezone)
    return build_timing(
        definition.schedule,
        timezone=definition.timezone,
        aligned=definition.aligned,
        now=datetime.now(UTC),
    )


def _build_scheduler(runner: Runner, timezone: tzinfo, horizon: Callable[[str], timedelta]) -> Any:
    from apscheduler.triggers.base import BaseTrigger

    from worker.scheduler.firing import prompt_scheduler

    BaseTrigger.register(SharedTiming)  # an ABC: keeps shared.py free of APScheduler
    return prompt_scheduler(runner.submit, horizon, timezone)
