"""SchedulerRegistry: services list and steer tasks at run time."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.run_support import Sink, definition, make_runner, run_once
from tests.support import until
from worker.errors import DefinitionError
from worker.run.records import RunRecord
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


async def test_a_lambda_added_through_the_registry_has_its_coroutine_awaited() -> None:
    """`SchedulerRegistry.add("x", lambda: service.work(), ...)`: the old code saw a plain
    callable, ran it in a thread and recorded `ok` without running `work()`; a failing one
    was `ok` too."""
    sink = Sink()
    orchestrator = Orchestrator(make_runner(sink), ZoneInfo("UTC"))
    registry = SchedulerRegistry(orchestrator)
    effects: list[str] = []

    async def work() -> None:
        effects.append("worked")

    async def broken() -> None:
        raise RuntimeError("broken work")

    orchestrator.start()
    try:
        registry.add("lambda-ok", lambda: work(), "1h")
        registry.add("lambda-failing", lambda: broken(), "1h")
        for name in ("lambda-ok", "lambda-failing"):
            run = registry.run_now(name)
            assert isinstance(run, asyncio.Task)
            await asyncio.wait_for(run, 5)
    finally:
        orchestrator.stop()
    assert effects == ["worked"]
    assert sink.outcomes("lambda-ok") == ["ok"]
    assert sink.outcomes("lambda-failing") == ["failed"]


async def test_run_now_from_a_threaded_method_runs_on_the_loop_and_gives_the_record() -> None:
    """The old registry called the runner straight from the worker thread: `create_task`
    raised "no running event loop" and the calling run failed."""
    sink = Sink()
    runner = make_runner(sink)
    orchestrator = Orchestrator(runner, ZoneInfo("UTC"))
    registry = SchedulerRegistry(orchestrator)
    ran_on: list[str] = []
    results: list[Any] = []

    async def target() -> None:
        ran_on.append(threading.current_thread().name)

    def caller() -> None:
        future = registry.run_now("target")
        assert isinstance(future, concurrent.futures.Future)
        results.append(future.result(timeout=5))

    orchestrator.mount(definition("target", every=3600), target)
    orchestrator.mount(definition("caller", every=3600, is_async=False), caller)
    orchestrator.start()
    try:
        record = await run_once(runner, "caller")
    finally:
        orchestrator.stop()
    assert record.outcome == "ok", record.error
    assert ran_on == [threading.main_thread().name]
    assert len(results) == 1
    assert isinstance(results[0], RunRecord)
    assert (results[0].task, results[0].outcome) == ("target", "ok")


async def test_pause_and_resume_of_a_disabled_task_raise_nothing() -> None:
    """A disabled task has no APScheduler job: the old registry called `pause_job` on it and
    raised JobLookupError."""
    orchestrator = Orchestrator(make_runner(Sink()), ZoneInfo("UTC"))
    registry = SchedulerRegistry(orchestrator)
    orchestrator.mount(definition("off", every=3600, disabled=True), lambda: None)
    orchestrator.start()
    try:
        registry.pause("off")
        assert registry.get("off").paused
        registry.resume("off")
        info = registry.get("off")
        assert not info.paused
        assert info.disabled
        assert info.next_fire is None
    finally:
        orchestrator.stop()
