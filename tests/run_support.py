"""Runs without a worker process: an in-memory listener, task definitions, a runner, and
an APScheduler that drives short real schedules (the run, scheduler and targets tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from tests.support import until
from worker.connect.outage import OutageMonitor
from worker.run.gate import AdmitAll, FireGate
from worker.run.records import RunRecord
from worker.run.runner import Runner
from worker.schedule.cron import IntervalSchedule
from worker.schedule.definitions import TaskDefinition
from worker.scheduler.orchestrator import Orchestrator
from worker.testing.listeners import RecordedRuns


class Sink(RecordedRuns):
    """The kit's in-memory listener, with outcomes by task."""

    def outcomes(self, task: str) -> list[str]:
        return [r.outcome for r in self.records if r.task == task]


def definition(name: str, every: float = 0.1, **changes: Any) -> TaskDefinition:
    values: dict[str, Any] = {
        "name": name,
        "provider": "test",
        "attribute": name,
        "schedule": IntervalSchedule(every),
        "scope": "instance",
        "timezone": ZoneInfo("UTC"),
        "time_limit": 0.0,
        "disabled": False,
        "is_async": True,
    }
    values.update(changes)
    return TaskDefinition(**values)


def make_runner(
    sink: RecordedRuns,
    grace: float = 60.0,
    outage: OutageMonitor | None = None,
    *,
    gate: FireGate | None = None,
    instance_id: str = "test",
) -> Runner:
    """A runner reporting to `sink`; every fire runs unless a `gate` says otherwise."""
    return Runner(
        instance_id=instance_id,
        misfire_grace=grace,
        outage=outage or OutageMonitor(),
        listeners=[sink],
        gate=gate or AdmitAll(),
        admit_timeout=5.0,
    )


async def run_once(runner: Runner, name: str, timeout: float = 5.0) -> RunRecord:
    run = runner.run_now(name)
    assert run is not None
    return await asyncio.wait_for(run, timeout)


async def scheduled(
    tasks: list[tuple[TaskDefinition, Callable[[], Any]]],
    condition: Callable[[], bool],
    sink: Sink,
    timeout: float = 5.0,
) -> Runner:
    runner = make_runner(sink)
    orchestrator = Orchestrator(runner, ZoneInfo("UTC"))
    for task_definition, method in tasks:
        orchestrator.mount(task_definition, method)
    orchestrator.start()
    try:
        await until(condition, timeout)
    finally:
        orchestrator.stop()
        await runner.drain(2.0)
    return runner
