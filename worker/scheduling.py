"""Mount tasks on APScheduler; every due instant goes to the run wrapper, which decides.

APScheduler's own coalescing, misfire grace and max_instances would drop fires silently,
so the jobs ask for every run time and a small executor hands them all to the `Runner`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from apscheduler.executors.base import BaseExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from worker.definitions import TaskDefinition
from worker.fire import format_instant
from worker.runner import Runner
from worker.schedules import build_trigger


class _RunnerExecutor(BaseExecutor):  # type: ignore[misc]
    def __init__(self, runner: Runner) -> None:
        super().__init__()
        self._runner = runner

    def submit_job(self, job: Any, run_times: Sequence[datetime]) -> None:
        self._runner.submit(job.id, run_times)

    def _do_submit_job(self, job: Any, run_times: Sequence[datetime]) -> None:
        self._runner.submit(job.id, run_times)


class Orchestrator:
    """The tasks this process schedules, and the APScheduler that fires them."""

    def __init__(self, runner: Runner, timezone: tzinfo) -> None:
        self._runner = runner
        self.timezone = timezone
        self._definitions: dict[str, TaskDefinition] = {}
        self._scheduler = AsyncIOScheduler(
            timezone=timezone,
            executors={"default": _RunnerExecutor(runner)},
            job_defaults={"coalesce": False, "misfire_grace_time": None, "max_instances": 1},
        )

    @property
    def definitions(self) -> dict[str, TaskDefinition]:
        return self._definitions

    def mount(self, definition: TaskDefinition, method: Callable[[], Any]) -> None:
        self._definitions[definition.name] = definition
        self._runner.add(definition, method)
        if definition.disabled:
            return
        trigger = build_trigger(
            definition.schedule,
            timezone=definition.timezone,
            aligned=definition.aligned,
            now=datetime.now(UTC),
        )
        self._scheduler.add_job(
            method, trigger=trigger, id=definition.name, name=definition.name, replace_existing=True
        )

    def unmount(self, name: str) -> None:
        self._definitions.pop(name, None)
        self._runner.remove(name)
        if self._scheduler.get_job(name) is not None:
            self._scheduler.remove_job(name)

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        """Stop firing; in-flight runs belong to the runner, which drains them."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def pause(self, name: str) -> None:
        self._scheduler.pause_job(name)

    def resume(self, name: str) -> None:
        self._scheduler.resume_job(name)

    def next_fire(self, name: str) -> datetime | None:
        job = self._scheduler.get_job(name)
        if job is None or job.next_run_time is None:
            return None
        when: datetime = job.next_run_time
        return when.astimezone(UTC)

    def paused(self, name: str) -> bool:
        job = self._scheduler.get_job(name)
        return job is not None and job.next_run_time is None

    def next_fires(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for name in self._definitions:
            when = self.next_fire(name)
            out[name] = format_instant(when, precise=when.microsecond != 0) if when else None
        return out

    def run_now(self, name: str) -> Any:
        return self._runner.run_now(name)

    def running(self, name: str) -> bool:
        return self._runner.running(name)
