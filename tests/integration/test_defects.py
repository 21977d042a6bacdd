"""One test per defect found in review; each docstring says what the old code did.

Real redis-server where Redis is involved; no mocked clients; waiting is polling with a
deadline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from dependency_injector import containers, providers
from loguru import logger
from redis.asyncio import Redis

from tests.integration.test_runner import Sink, definition, make_runner
from tests.support import RedisServer
from worker import FrameworkContainer, interval
from worker.app.context import ApplicationContext
from worker.app.deadline import Deadline
from worker.app.discovery import discover
from worker.app.parts import Parts
from worker.app.signals import REPEAT_WINDOW, StopSignals
from worker.connect.outage import Backoff, OutageMonitor
from worker.connect.redis import make_client
from worker.errors import ConfigError, DefinitionError
from worker.observe.alerts import Alerts
from worker.run.fire import Fire
from worker.run.gate import AdmitAll
from worker.run.records import RunRecord
from worker.run.runner import Runner
from worker.schedule.definitions import TaskDefinition
from worker.scheduler.orchestrator import Orchestrator
from worker.scheduler.registry import SchedulerRegistry

CLIENT_NAME = "crypto-stats-worker"


async def until(condition: Callable[[], object], timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        await asyncio.sleep(0.01)


@pytest.fixture
def logs() -> Iterator[list[str]]:
    """Every log line (with its fields and any traceback) while the test runs."""
    lines: list[str] = []
    sink = logger.add(lines.append, level="DEBUG", format="{level} {message} {extra}\n{exception}")
    yield lines
    logger.remove(sink)


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_url: str) -> str:
    """The settings an application context reads: the test redis, a heartbeat file of its own."""
    for name in ("WORKER_APP", "DISABLED_TASKS", "TASK_TIME_LIMIT", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HEARTBEAT_FILE", str(tmp_path / "worker.heartbeat"))
    return redis_url


def context_of(container: Any) -> ApplicationContext:
    return ApplicationContext(container, container.settings())


def runner_with(sink: Sink, gate: Any, admit_timeout: float) -> Runner:
    return Runner(
        instance_id="test",
        misfire_grace=60.0,
        outage=OutageMonitor(),
        listeners=[sink],
        gate=gate,
        admit_timeout=admit_timeout,
    )


async def run_once(runner: Runner, name: str, timeout: float = 5.0) -> RunRecord:
    run = runner.run_now(name)
    assert run is not None
    return await asyncio.wait_for(run, timeout)


def named_clients(server: RedisServer) -> list[dict[str, Any]]:
    return [c for c in server.client().client_list() if c.get("name") == CLIENT_NAME]


# a. The admission gate has a deadline and counts against the time limit.


class SilentGate:
    """A gate whose `admit()` never answers (a claim stuck on a dead connection)."""

    def __init__(self) -> None:
        self.asked = 0

    async def admit(self, task: TaskDefinition, fire: Fire) -> bool:
        self.asked += 1
        await asyncio.Event().wait()
        return True


async def test_a_gate_that_never_answers_ends_the_run_within_admit_timeout() -> None:
    """The old runner awaited `gate.admit()` without a deadline: the run hung forever and
    the task never fired again."""
    sink = Sink()
    gate = SilentGate()
    runner = runner_with(sink, gate, admit_timeout=0.2)
    calls: list[str] = []

    async def task() -> None:
        calls.append("ran")

    runner.add(definition("gated"), task)
    record = await run_once(runner, "gated")
    assert gate.asked == 1
    assert record.outcome in ("failed", "skipped")
    assert 150 <= record.duration_ms < 1500
    assert calls == []
    assert sink.outcomes("gated") == [record.outcome]


async def test_a_gate_slower_than_the_time_limit_makes_the_run_a_timeout() -> None:
    """The old runner asked the gate before starting the time limit, so a slow gate let a
    run overrun its limit (or hang) instead of ending as `timeout`."""
    sink = Sink()
    runner = runner_with(sink, SilentGate(), admit_timeout=30.0)
    calls: list[str] = []

    async def task() -> None:
        calls.append("ran")

    runner.add(definition("limited", time_limit=0.1), task)
    record = await run_once(runner, "limited")
    assert record.outcome == "timeout"
    assert 90 <= record.duration_ms < 1500
    assert calls == []


# b. A plain callable returning a coroutine has it awaited.


async def test_a_plain_method_returning_a_coroutine_has_it_awaited() -> None:
    """The old runner ran a plain method in a thread and dropped what it returned: the
    coroutine never ran ("coroutine ... was never awaited") and the run was `ok`."""
    sink = Sink()
    runner = make_runner(sink)
    effects: list[str] = []

    async def publish() -> None:
        effects.append("published")

    def plain() -> Awaitable[None]:
        return publish()

    runner.add(definition("plain", is_async=False), plain)
    record = await run_once(runner, "plain")
    assert record.outcome == "ok"
    assert effects == ["published"]


async def test_a_plain_method_whose_coroutine_raises_is_a_failed_run() -> None:
    """The old runner never awaited the returned coroutine, so its error was lost and the
    run recorded as `ok`."""
    sink = Sink()
    runner = make_runner(sink)

    async def publish() -> None:
        raise RuntimeError("publish refused")

    runner.add(definition("plain-failing", is_async=False), lambda: publish())
    record = await run_once(runner, "plain-failing")
    assert record.outcome == "failed"
    assert record.error == "RuntimeError: publish refused"


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


class HookedTasks:
    """A plain `on_startup` that hands back a coroutine (a sync wrapper around async work)."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def on_startup(self) -> Awaitable[None]:
        return self._connect()

    async def _connect(self) -> None:
        self.events.append("startup")

    @interval("1h", name="hooked")
    async def hooked(self) -> None:
        self.events.append("run")


@containers.copy(FrameworkContainer)
class HookedContainer(FrameworkContainer):
    hooked = providers.Singleton(HookedTasks)


async def test_a_plain_on_startup_returning_a_coroutine_has_it_awaited(app_env: str) -> None:
    """The old context ran a plain hook in a thread and dropped the coroutine it returned:
    the start-up work never happened."""
    container = HookedContainer()
    assert await context_of(container).run_task("hooked") == 0
    assert container.hooked().events == ["startup", "run"]


# c. run_now from a plain (threaded) task method.


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


# d. A service whose constructor raises: one ConfigError, Redis closed.


async def test_a_service_that_cannot_be_built_is_a_config_error_and_redis_is_closed(
    app_env: str, redis_server: RedisServer
) -> None:
    """The old start-up let the constructor's exception escape with a traceback and left the
    Redis resource open."""
    from tests.apps.broken import Container as BrokenContainer

    container = BrokenContainer()
    discovery = context_of(container).discovery
    with pytest.raises(ConfigError, match="'unbuildable'") as raised:
        await Parts.start(container, discovery, Deadline(5.0))
    assert "RuntimeError: missing API key" in str(raised.value)
    assert raised.value.__cause__ is None
    assert named_clients(redis_server) == []


# e. A task's own TimeoutError is its failure, not an outage.


async def test_a_tasks_own_wait_for_timeout_is_a_failed_run_not_an_outage(
    redis_url: str, logs: list[str]
) -> None:
    """An earlier classification took every TimeoutError (and OSError) for a Redis outage:
    no traceback, an "outage started" line, and the OutageMonitor went down."""
    sink = Sink()
    outage = OutageMonitor()
    runner = make_runner(sink, outage=outage)
    client = make_client(redis_url)

    async def waits_too_little() -> None:
        await asyncio.wait_for(client.blpop(["defects:never"], timeout=5), 0.05)

    runner.add(definition("impatient"), waits_too_little)
    try:
        record = await run_once(runner, "impatient")
    finally:
        await client.aclose()
    assert record.outcome == "failed"
    assert (record.error or "").startswith("TimeoutError")
    assert not outage.down
    text = "\n".join(logs)
    assert "Traceback" in text
    assert "waits_too_little" in text
    assert "outage started" not in text


async def test_a_redis_py_timeout_in_a_task_is_still_an_outage(
    redis_url: str, logs: list[str]
) -> None:
    """The counterpart: a TimeoutError that redis-py raises (a socket read timing out) must
    keep marking Redis down."""
    sink = Sink()
    outage = OutageMonitor()
    runner = make_runner(sink, outage=outage)
    client: Redis = Redis.from_url(redis_url, socket_timeout=0.05)

    async def reads_too_slowly() -> None:
        await client.blpop(["defects:never"], timeout=5)

    runner.add(definition("slow-read"), reads_too_slowly)
    try:
        record = await run_once(runner, "slow-read")
    finally:
        await client.aclose()
    assert record.outcome == "failed"
    assert outage.down
    assert any("outage started" in line for line in logs)


# f. Signal handlers are restored; repeats within REPEAT_WINDOW are one.


async def test_stop_signals_restore_the_handler_installed_before() -> None:
    """The old context left its own (or the default) SIGTERM handler behind, so a custom
    handler installed before it was lost after the first run."""
    seen: list[int] = []

    def custom(signum: int, frame: FrameType | None) -> None:
        seen.append(signum)

    original = signal.signal(signal.SIGTERM, custom)
    try:
        for _ in range(3):
            async with StopSignals():
                assert signal.getsignal(signal.SIGTERM) is not custom
            assert signal.getsignal(signal.SIGTERM) is custom
    finally:
        signal.signal(signal.SIGTERM, original)
    assert seen == []


async def test_a_real_signal_sets_should_exit_and_only_a_late_repeat_forces(
    logs: list[str],
) -> None:
    """Raised in-process: a repeat within REPEAT_WINDOW (a process group's double delivery)
    used to set force_exit and cut the drain short; only a later one may."""
    async with StopSignals() as signals:
        signal.raise_signal(signal.SIGTERM)
        await asyncio.wait_for(signals.should_exit.wait(), 5)
        first = time.monotonic()
        assert signals.received == "SIGTERM"
        signal.raise_signal(signal.SIGTERM)
        await until(lambda: any("signal repeated" in line for line in logs), what="repeat")
        assert time.monotonic() - first < REPEAT_WINDOW, "the repeat came too late to count"
        assert not signals.force_exit.is_set()
        await until(lambda: time.monotonic() - first > REPEAT_WINDOW, what="the window")
        signal.raise_signal(signal.SIGTERM)
        await asyncio.wait_for(signals.force_exit.wait(), 5)


# g. Disabled and static tasks.


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


class StaticTasks:
    ran: ClassVar[list[str]] = []

    @staticmethod
    @interval("1h", name="static-below")
    async def below() -> None:
        StaticTasks.ran.append("static-below")

    @interval("1h", name="static-above")
    @staticmethod
    async def above() -> None:
        StaticTasks.ran.append("static-above")


@containers.copy(FrameworkContainer)
class StaticContainer(FrameworkContainer):
    statics = providers.Singleton(StaticTasks)


@pytest.mark.parametrize("name", ["static-below", "static-above"])
async def test_a_static_task_method_is_discovered_and_runs(app_env: str, name: str) -> None:
    """Discovery used to count plain functions only: a staticmethod object was passed over,
    so the task was never found (in either decorator order)."""
    StaticTasks.ran.clear()
    context = context_of(StaticContainer())
    assert {d.name for d in context.definitions} == {"static-below", "static-above"}
    assert await context.run_task(name) == 0
    assert StaticTasks.ran == [name]


def test_a_static_task_method_with_a_required_argument_is_a_definition_error() -> None:
    """The decorator's check leaves room for one required argument (`self`), which a static
    method does not have: the bad definition was accepted instead of exiting 78."""

    class NeedsArgument:
        @staticmethod
        @interval("1h")
        async def needs(value: int) -> None: ...

    class Holder(containers.DeclarativeContainer):
        needs = providers.Singleton(NeedsArgument)

    with pytest.raises(DefinitionError, match="takes no arguments"):
        discover(Holder())


# h. Every outcome reaches every listener; missed fires raise a "missing" alert.


async def test_skipped_and_missed_records_reach_every_listener() -> None:
    """Fires that did not run were only logged: listeners other than the history (metrics, a
    user's listener) never heard of `skipped` or `missed`."""
    first, second = Sink(), Sink()
    runner = Runner(
        instance_id="test",
        misfire_grace=1.0,
        outage=OutageMonitor(),
        listeners=[first, second],
        gate=AdmitAll(),
        admit_timeout=5.0,
    )
    release = asyncio.Event()

    async def slow() -> None:
        await release.wait()

    runner.add(definition("slow"), slow)
    now = datetime.now(UTC)
    running = runner.submit("slow", [now])
    assert running is not None
    assert runner.submit("slow", [now + timedelta(milliseconds=100)]) is None
    assert runner.submit("slow", [now - timedelta(seconds=30)]) is None
    release.set()
    await asyncio.wait_for(running, 5)
    for sink in (first, second):
        assert sink.outcomes("slow") == ["skipped", "missed", "ok"]


async def test_alerts_report_missing_after_consecutive_missed_fires(redis_url: str) -> None:
    """Alerts counted only failures: a task whose fires were all missed (a stalled loop, a
    paused host) never raised an alert."""
    client = make_client(redis_url)
    alerts = Alerts(
        client,
        channel="defects:alerts",
        after=3,
        webhook_url=None,
        instance_id="test",
        redis_timeout=5,
    )
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe("defects:alerts")
    try:
        for n in range(3):
            alerts.on_run(missed_record("late-task", n))
        message = None
        deadline = time.monotonic() + 5
        while message is None and time.monotonic() < deadline:
            message = await pubsub.get_message(timeout=0.1)
        assert message is not None, "no alert published"
        event = json.loads(message["data"])
        assert (event["state"], event["task"], event["failures"]) == ("missing", "late-task", 3)
    finally:
        await alerts.close(1.0)
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()


def missed_record(task: str, n: int) -> RunRecord:
    return RunRecord(
        task=task,
        fire_id=f"{task}:{n}",
        scheduled_for=f"2026-01-01T00:0{n}:00Z",
        started_at="2026-01-01T01:00:00Z",
        outcome="missed",
        duration_ms=0.0,
        lag_ms=0.0,
        missed=1,
        instance="test",
        error="1 fire(s) older than MISFIRE_GRACE",
    )


# i. One graph: an override on the shipped container is what the running worker uses.


async def test_the_running_worker_uses_the_containers_overridden_recorder(app_env: str) -> None:
    """The old context built its recorder and listeners by hand, so `container.recorder
    .override(...)` changed nothing in the running worker."""
    from container import Container

    sink = Sink()
    container = Container()
    with container.recorder.override(providers.Object(sink)):
        assert await context_of(container).run_task("crypto-trigger") == 0
    assert [(r.task, r.outcome) for r in sink.records] == [("crypto-trigger", "ok")]


# j. Backoff jitter.


def test_backoff_instances_jitter_independently_within_the_upper_half() -> None:
    """The old Backoff returned the nominal 0.1, 0.2, 0.4 … exactly: replicas that lost Redis
    together reconnected in lockstep."""
    nominal = [min(0.1 * 2**n, 1.0) for n in range(8)]
    sequences = []
    for _ in range(2):
        backoff = Backoff()
        delays = [backoff.next() for _ in nominal]
        for delay, expected in zip(delays, nominal, strict=True):
            assert expected / 2 <= delay <= expected
        sequences.append(delays)
    assert sequences[0] != sequences[1]


def test_a_run_once_task_without_a_limit_is_never_stuck() -> None:
    """Before, the next fire of a one-shot was computed from a fresh timing anchored at
    now, so `@timeout(5)` raised a stuck alert 15 s into its run."""
    from worker.run.fire import Fire
    from worker.run.stuck import StuckAlarm
    from worker.schedule.cron import OnceSchedule
    from worker.schedule.shared import NextFires

    once = definition("once", schedule=OnceSchedule(5.0))
    fire = Fire("once", datetime.now(UTC))
    assert StuckAlarm([], NextFires()).arm(once, fire) is None
