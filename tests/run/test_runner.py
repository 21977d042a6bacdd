"""The run wrapper, driven by APScheduler with short real schedules (no Redis needed)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.run_support import Sink, definition, make_runner, run_once, scheduled
from tests.support import until
from worker import Fire, current_fire
from worker.connect.outage import OutageMonitor


async def test_fire_is_skipped_while_previous_run_is_active() -> None:
    sink = Sink()
    seen: list[Fire] = []

    async def slow() -> None:
        await asyncio.sleep(0.45)
        seen.append(current_fire())

    await scheduled([(definition("slow"), slow)], lambda: len(seen) >= 1, sink)
    outcomes = sink.outcomes("slow")
    assert outcomes.count("skipped") >= 3
    first_ok = next(r for r in sink.records if r.outcome == "ok")
    assert first_ok.missed >= 3
    skipped = [r for r in sink.records if r.outcome == "skipped"]
    # The run took over the newest folded fire: its id is the last skipped one's.
    assert first_ok.fire_id == skipped[first_ok.missed - 1].fire_id
    assert seen[0].missed == first_ok.missed


async def test_failing_task_is_recorded_and_other_tasks_go_on() -> None:
    sink = Sink()
    ok_runs: list[str] = []

    async def broken() -> None:
        raise RuntimeError("boom")

    async def healthy() -> None:
        ok_runs.append(current_fire().id)

    runner = await scheduled(
        [(definition("broken"), broken), (definition("healthy"), healthy)],
        lambda: len(ok_runs) >= 3 and sink.outcomes("broken").count("failed") >= 3,
        sink,
    )
    failed = [r for r in sink.records if r.task == "broken"]
    assert all(r.error == "RuntimeError: boom" for r in failed)
    assert [r.consecutive_failures for r in failed[:3]] == [1, 2, 3]
    assert runner.consecutive_failures("broken") >= 3


async def test_time_limit_cancels_an_overrunning_run_and_the_next_fire_runs() -> None:
    sink = Sink()
    calls: list[int] = []

    async def sometimes_slow() -> None:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(10)

    await scheduled(
        [(definition("limited", every=0.1, time_limit=0.15), sometimes_slow)],
        lambda: "ok" in sink.outcomes("limited"),
        sink,
    )
    outcomes = [o for o in sink.outcomes("limited") if o != "skipped"]
    assert outcomes[0] == "timeout"
    assert outcomes[1] == "ok"
    timeout_record = next(r for r in sink.records if r.outcome == "timeout")
    assert 140 <= timeout_record.duration_ms < 1000
    assert "time limit" in (timeout_record.error or "")


async def test_plain_method_runs_in_a_thread_with_its_fire() -> None:
    sink = Sink()
    threads: list[str] = []
    fires: list[str] = []

    def blocking() -> None:
        threads.append(threading.current_thread().name)
        fires.append(current_fire().id)

    await scheduled(
        [(definition("plain", is_async=False), blocking)], lambda: len(fires) >= 1, sink
    )
    assert threads[0] != threading.main_thread().name
    assert fires[0].startswith("plain:")


async def test_fires_within_misfire_grace_become_one_run_with_missed() -> None:
    sink = Sink()
    fires: list[Fire] = []

    async def record_fire() -> None:
        fires.append(current_fire())

    runner = make_runner(sink, grace=60)
    runner.add(definition("late"), record_fire)
    now = datetime.now(UTC).replace(microsecond=0)
    times = [now - timedelta(seconds=s) for s in (120, 90, 5, 4, 3, 2, 1)]
    run = runner.submit("late", times)
    assert run is not None
    await run
    assert fires[0].scheduled_for == times[-1]
    assert fires[0].missed == 4
    missed = [r for r in sink.records if r.outcome == "missed"]
    assert len(missed) == 1
    assert missed[0].missed == 2
    assert missed[0].scheduled_for == times[1].strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def test_drain_waits_for_runs_then_cancels_and_records_cancelled() -> None:
    sink = Sink()
    finished: list[str] = []

    def sleeper(seconds: float) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await asyncio.sleep(seconds)
            finished.append(current_fire().task)

        return run

    runner = make_runner(sink)
    runner.add(definition("short"), sleeper(0.2))
    runner.add(definition("long"), sleeper(30))
    runner.run_now("short")
    runner.run_now("long")
    cancelled = await runner.drain(0.5)
    assert cancelled == 1
    assert finished == ["short"]
    assert sink.outcomes("long") == ["cancelled"]
    assert runner.run_now("short") is None, "a drained runner accepts no new fire"


async def test_second_signal_forces_the_drain() -> None:
    sink = Sink()

    async def forever() -> None:
        await asyncio.sleep(30)

    runner = make_runner(sink)
    runner.add(definition("forever"), forever)
    runner.run_now("forever")
    force = asyncio.Event()
    asyncio.get_running_loop().call_later(0.1, force.set)
    started = time.monotonic()
    assert await runner.drain(20, force=force) == 1
    assert time.monotonic() - started < 2
    assert sink.outcomes("forever") == ["cancelled"]


async def test_a_tasks_own_oserror_is_a_failure_with_traceback_not_an_outage() -> None:
    sink = Sink()
    outage = OutageMonitor()
    runner = make_runner(sink, outage=outage)

    async def reads_a_missing_file() -> None:
        raise FileNotFoundError(2, "No such file or directory", "/nonexistent/dir/file")

    runner.add(definition("reader"), reads_a_missing_file)
    run = runner.run_now("reader")
    assert run is not None
    await run
    assert sink.outcomes("reader") == ["failed"]
    assert not outage.down


async def test_run_now_is_not_subject_to_misfire_grace() -> None:
    sink = Sink()
    runner = make_runner(sink, grace=1e-9)
    calls: list[str] = []

    async def task() -> None:
        calls.append("ran")

    runner.add(definition("now"), task)
    run = runner.run_now("now")
    assert run is not None
    await run
    assert calls == ["ran"]


async def test_a_fold_into_a_run_keeps_its_lag_from_the_fire_it_started_for() -> None:
    """The lag is the run's start minus the instant it started for, never negative, even when
    a newer fire (one due after the start) folds into the run and moves its fire."""
    sink = Sink()
    runner = make_runner(sink)
    release = asyncio.Event()

    async def slow() -> None:
        await release.wait()

    runner.add(definition("slow"), slow)
    now = datetime.now(UTC)
    run = runner.submit("slow", [now - timedelta(seconds=1)])
    assert run is not None
    # Handed over ahead of its instant: it folds into the run in flight when it is due.
    assert runner.submit("slow", [now + timedelta(seconds=0.3)]) is None
    await until(lambda: sink.outcomes("slow") == ["skipped"], what="the fold at its instant")
    release.set()
    record = await asyncio.wait_for(run, 5)
    assert record.missed == 1
    assert record.scheduled_for > record.started_at  # the fire moved past the start
    assert 900 <= record.lag_ms < 5000


async def test_a_fire_handed_over_ahead_starts_on_its_instant() -> None:
    """A fire handed over before its instant (the scheduler's lead) is a run at once, which
    calls the method on the instant, not before; its lag counts from the instant."""
    sink = Sink()
    runner = make_runner(sink)
    called: list[float] = []

    async def on_time() -> None:
        called.append(time.time())

    runner.add(definition("on-time"), on_time)
    instant = datetime.now(UTC) + timedelta(seconds=0.3)
    run = runner.submit("on-time", [instant])
    assert run is not None
    assert runner.running("on-time")
    record = await asyncio.wait_for(run, 5)
    assert called
    assert called[0] >= instant.timestamp()
    assert record.outcome == "ok"
    assert record.missed == 0
    assert 0 <= record.lag_ms < 200
    assert record.started_at >= record.scheduled_for


async def test_an_instant_handed_over_again_is_run_once() -> None:
    """A pause and resume (or the task mounted anew) within the lead makes the scheduler
    hand the fire it has just handed over ahead over again: one run, no fold, no `missed`."""
    sink = Sink()
    runner = make_runner(sink)

    async def once() -> None:
        return None

    runner.add(definition("again"), once)
    instant = datetime.now(UTC) + timedelta(seconds=0.3)
    run = runner.submit("again", [instant])
    assert run is not None
    assert runner.submit("again", [instant]) is None
    record = await asyncio.wait_for(run, 5)
    assert record.missed == 0
    assert runner.submit("again", [instant]) is None  # after its run, too
    assert sink.outcomes("again") == ["ok"]


class Boom(BaseException):
    """An exception outside `Exception`, as a task may raise."""


@pytest.mark.parametrize(
    ("raised", "kind"),
    [
        (SystemExit(3), "SystemExit"),
        (KeyboardInterrupt(), "KeyboardInterrupt"),
        (Boom("boom"), "Boom"),
    ],
    ids=["SystemExit", "KeyboardInterrupt", "BaseException"],
)
async def test_a_task_raising_outside_exception_is_a_failed_run_and_the_loop_goes_on(
    raised: BaseException, kind: str
) -> None:
    """Only signals stop the worker: before, SystemExit ended the process (rc 3, run `ok`),
    and a BaseException was recorded `ok`."""
    sink = Sink()
    runner = make_runner(sink)

    async def exits() -> None:
        raise raised

    def exits_in_a_thread() -> None:
        raise raised

    runner.add(definition("exits"), exits)
    runner.add(definition("threaded", is_async=False), exits_in_a_thread)
    for name in ("exits", "threaded"):
        record = await run_once(runner, name)
        assert record.outcome == "failed"
        assert record.error is not None
        assert record.error.startswith(kind)
    assert [r.outcome for r in sink.records] == ["failed", "failed"]
    await asyncio.sleep(0)  # the loop is still here
