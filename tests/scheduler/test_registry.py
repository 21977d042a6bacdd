"""SchedulerRegistry: services list and steer tasks at run time."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

import pytest

from tests.run_support import Sink, definition, make_runner
from tests.support import until
from worker.errors import DefinitionError
from worker.scheduler.orchestrator import Orchestrator
from worker.scheduler.registry import SchedulerRegistry


async def test_registry_adds_runs_now_and_removes_a_task() -> None:
    sink = Sink()
    orchestrator = Orchestrator(make_runner(sink), ZoneInfo("UTC"))
    registry = SchedulerRegistry(orchestrator)
    orchestrator.start()
    calls: list[str] = []

    async def added() -> None:
        calls.append("run")

    try:
        registry.add("added", added, "100ms")
        info = registry.get("added")
        assert info.schedule == "every 100ms"
        assert info.scope == "instance"
        assert info.next_fire is not None
        await until(lambda: len(calls) >= 2)
        registry.remove("added")
        assert "added" not in [t.name for t in registry.tasks()]
        with pytest.raises(KeyError):
            registry.run_now("added")
    finally:
        orchestrator.stop()


async def test_registry_run_now_fires_a_paused_task_once() -> None:
    sink = Sink()
    runner = make_runner(sink)
    orchestrator = Orchestrator(runner, ZoneInfo("UTC"))
    registry = SchedulerRegistry(orchestrator)
    calls: list[str] = []

    async def task() -> None:
        calls.append("run")

    orchestrator.mount(definition("hourly", every=3600), task)
    orchestrator.start()
    try:
        registry.pause("hourly")
        assert registry.get("hourly").paused
        assert registry.get("hourly").next_fire is None
        run = registry.run_now("hourly")
        assert isinstance(run, asyncio.Task)
        await run
        assert calls == ["run"]
        registry.resume("hourly")
        assert registry.get("hourly").next_fire is not None
    finally:
        orchestrator.stop()


async def test_registry_rejects_a_duplicate_name_and_a_time_limit_on_plain_code() -> None:
    orchestrator = Orchestrator(make_runner(Sink()), ZoneInfo("UTC"))
    registry = SchedulerRegistry(orchestrator)

    async def task() -> None: ...

    def plain() -> None: ...

    orchestrator.activate()
    registry.add("one", task, 60)
    with pytest.raises(DefinitionError, match="duplicate"):
        registry.add("one", task, 60)
    with pytest.raises(DefinitionError, match="async"):
        registry.add("two", plain, 60, time_limit=1)


def test_registry_before_start_says_so() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        SchedulerRegistry(Orchestrator(make_runner(Sink()), ZoneInfo("UTC"))).tasks()
