"""What a run's outcome is when its gate hangs, its plain method hands back a coroutine, a
timeout is its own, a fire does not run, or a one-shot outlives its period.

Each docstring says what the old code did. Real redis-server where Redis is involved; no
mocked clients; waiting is polling with a deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from tests.run_support import Sink, definition, make_runner, run_once
from worker.connect.outage import OutageMonitor
from worker.connect.redis import make_client
from worker.run.fire import Fire
from worker.run.gate import ADMITTED, Admission, AdmitAll
from worker.run.runner import Runner
from worker.schedule.definitions import TaskDefinition


def runner_with(sink: Sink, gate: Any, admit_timeout: float) -> Runner:
    return Runner(
        instance_id="test",
        misfire_grace=60.0,
        outage=OutageMonitor(),
        listeners=[sink],
        gate=gate,
        admit_timeout=admit_timeout,
    )


# a. The admission gate has a deadline and counts against the time limit.


class SilentGate:
    """A gate whose `admit()` never answers (a claim stuck on a dead connection)."""

    waits_out_outages = False

    def __init__(self) -> None:
        self.asked = 0

    async def admit(self, task: TaskDefinition, fire: Fire) -> Admission:
        self.asked += 1
        await asyncio.Event().wait()
        return ADMITTED


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


# c. A task's own TimeoutError is its failure, not an outage.


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


# d. Every outcome reaches every listener; a one-shot is never stuck.


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
    # Oldest first, as the scheduler hands instants over (one it handed over is not taken
    # again): a fire past MISFIRE_GRACE, a run, a fire folded into it.
    assert runner.submit("slow", [now - timedelta(seconds=30)]) is None
    running = runner.submit("slow", [now - timedelta(milliseconds=200)])
    assert running is not None
    assert runner.submit("slow", [now - timedelta(milliseconds=100)]) is None
    release.set()
    await asyncio.wait_for(running, 5)
    for sink in (first, second):
        assert sink.outcomes("slow") == ["missed", "skipped", "ok"]


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
