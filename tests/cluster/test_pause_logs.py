"""What a fleet pause logs: `until` as ISO 8601 UTC (none when it has none), and one
WARNING for the first fire it skips, INFO for the rest."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from loguru import logger
from redis.asyncio import Redis

from tests.cluster.claim_support import second_ago, store, task
from tests.run_support import Sink, make_runner, run_once
from worker.cluster.control import FleetControl
from worker.cluster.gate import ClusterGate
from worker.cluster.pause import PauseState
from worker.connect.outage import OutageMonitor
from worker.state.fleet import FleetClient, PauseEntry, epoch_instant
from worker.state.keys import Keys
from worker.testing.listeners import RecordedRuns

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z")


@pytest.fixture
def logged() -> Iterator[list[dict[str, Any]]]:
    """Every log record while the test runs."""
    records: list[dict[str, Any]] = []
    sink = logger.add(lambda message: records.append(dict(message.record)), level="DEBUG")
    yield records
    logger.remove(sink)


async def test_a_pause_logs_its_until_in_iso_8601_and_none_when_it_has_none(
    client: Redis, logged: list[dict[str, Any]]
) -> None:
    keys = Keys("pauselog:")
    fleet = FleetClient(client, keys)
    runner = make_runner(Sink())
    control = FleetControl(client, keys, PauseState(), OutageMonitor(), 5.0, runner=runner)
    timed = await fleet.pause("timed", 3600.0)
    await fleet.pause("forever", None)
    await control.reload()
    await fleet.resume("timed")
    await control.reload()
    lines = [(r["message"], r["extra"]) for r in logged if "fleet-wide" in r["message"]]
    assert [(message, extra["task"]) for message, extra in lines] == [
        ("task paused fleet-wide", "forever"),
        ("task paused fleet-wide", "timed"),
        ("task resumed fleet-wide", "timed"),
    ]
    assert timed.until is not None
    assert lines[1][1]["until"] == epoch_instant(timed.until)
    assert ISO.fullmatch(lines[1][1]["until"])
    assert "until" not in lines[0][1], "a pause until resumed has no `until`"
    assert "until" not in lines[2][1]


async def test_the_first_fire_a_pause_skips_is_a_warning_and_the_rest_are_info(
    client: Redis, logged: list[dict[str, Any]]
) -> None:
    pause = PauseState()
    pause.replace({"t": PauseEntry(None, 1.0)})
    gate = ClusterGate(store(client, "a"), outage=OutageMonitor(), pause=pause, lease=5.0)
    records = RecordedRuns()
    runner = make_runner(records, gate=gate, instance_id="a")

    async def probe() -> None:
        raise AssertionError("a paused task does not run")

    runner.add(task(), probe)
    at = await second_ago(client) - 3000

    async def fire(step: int) -> None:
        run = runner.submit("t", [datetime.fromtimestamp((at + step * 1000) / 1000, UTC)])
        assert run is not None
        await run

    try:
        for step in range(3):
            await fire(step)
        pause.replace({"t": PauseEntry(None, 2.0)})  # paused again: a new pause
        await fire(3)
    finally:
        await gate.close(1.0)
    assert [(r.outcome, r.error) for r in records.records] == [("skipped", "paused")] * 4
    levels = [r["level"].name for r in logged if r["message"] == "run"]
    assert levels == ["WARNING", "INFO", "INFO", "WARNING"]


async def test_a_pause_until_resumed_then_one_with_a_deadline_is_taken_as_the_new_state(
    client: Redis, logged: list[dict[str, Any]]
) -> None:
    """`pause TASK` then `pause TASK --for 1h` (and back): each replica takes the new state
    (before, comparing an until of None with a number broke the control channel)."""
    keys = Keys("pausechange:")
    fleet = FleetClient(client, keys)
    runner = make_runner(Sink())
    state = PauseState()
    control = FleetControl(client, keys, state, OutageMonitor(), 5.0, runner=runner)
    await fleet.pause("t", None)
    await control.reload()
    timed = await fleet.pause("t", 3600.0)
    await control.reload()
    assert state.paused("t")
    await fleet.pause("t", None)
    await control.reload()
    assert state.paused("t")
    untils = [r["extra"].get("until") for r in logged if r["message"] == "task paused fleet-wide"]
    assert timed.until is not None
    assert untils == [None, epoch_instant(timed.until), None]
    assert not [r for r in logged if r["level"].name == "ERROR"]


async def test_a_paused_instance_task_is_skipped_on_every_replica_and_runs_after_resume(
    client: Redis,
) -> None:
    """`pause health-check` said "paused fleet-wide" and the task kept running: instance
    fires are held by the pause too, each recorded `skipped` (reason paused) where it came."""
    pause = PauseState()
    gate = ClusterGate(store(client, "a"), outage=OutageMonitor(), pause=pause, lease=5.0)
    sink = Sink()
    runner = make_runner(sink, gate=gate, instance_id="a")
    ran: list[int] = []

    async def beat() -> None:
        ran.append(1)

    runner.add(task("beat", scope="instance"), beat)
    pause.replace({"beat": PauseEntry(until=None, at=0.0)})
    skipped = await run_once(runner, "beat")
    pause.replace({})
    done = await run_once(runner, "beat")
    assert (skipped.outcome, skipped.error) == ("skipped", "paused")
    assert done.outcome == "ok"
    assert ran == [1]
