"""Cron next fires shared by tasks on one schedule: the same answers, computed once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from unittest.mock import Mock
from zoneinfo import ZoneInfo

from worker.schedule.cron import CronSchedule, IntervalSchedule
from worker.schedule.definitions import TaskDefinition
from worker.schedule.shared import MOST, NextFires
from worker.schedule.timing import build_timing

BERLIN = ZoneInfo("Europe/Berlin")


def test_shared_timing_answers_as_its_own_timing_would() -> None:
    fires = NextFires()
    schedule = CronSchedule("30 2 * * *")
    own = build_timing(schedule, timezone=BERLIN, aligned=True, now=datetime.now(UTC))
    shared = fires.timing(schedule, BERLIN)
    now = datetime(2026, 3, 28, 12, tzinfo=UTC)
    previous = None
    for _ in range(4):  # across the spring change of 2026-03-29
        expected = own.get_next_fire_time(previous, now)
        assert shared.get_next_fire_time(previous, now) == expected
        previous, now = expected, expected + timedelta(seconds=1)


def test_tasks_on_one_schedule_compute_each_next_fire_once() -> None:
    fires = NextFires()
    timings = [fires.timing(CronSchedule("* * * * * *"), UTC) for _ in range(200)]
    key = ("* * * * * *", UTC)
    counted = fires._timings[key] = Mock(wraps=fires._timings[key])
    instant = datetime(2026, 1, 1, tzinfo=UTC)
    answers = {t.get_next_fire_time(instant, instant) for t in timings}
    assert answers == {instant + timedelta(seconds=1)}
    assert counted.get_next_fire_time.call_count == 1


def test_old_answers_are_let_go() -> None:
    fires = NextFires(limit=3)
    timing = fires.timing(CronSchedule("* * * * * *"), UTC)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for second in range(10):
        timing.get_next_fire_time(None, start + timedelta(seconds=second))
    assert len(fires._found) == 3


def _task(schedule: CronSchedule | IntervalSchedule, zone: tzinfo) -> TaskDefinition:
    return TaskDefinition(
        name="t",
        provider="test",
        attribute="t",
        schedule=schedule,
        scope="cluster",
        timezone=zone,
        time_limit=0.0,
        disabled=False,
        is_async=True,
    )


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def test_the_fires_missed_between_two_instants_are_counted_from_the_shared_timing() -> None:
    fires = NextFires()
    quarter = _task(CronSchedule("*/15 * * * *"), BERLIN)
    start = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert fires.instants_between(quarter, _ms(start), _ms(start + timedelta(hours=1))) == 3
    assert fires.instants_between(quarter, _ms(start), _ms(start + timedelta(minutes=15))) == 0
    assert fires.instants_between(quarter, 0, _ms(start)) == 0  # no previous mark
    # The scheduler's timing of that schedule is the one counted with: one cache.
    assert list(fires._timings) == [("*/15 * * * *", BERLIN)]
    every = _task(IntervalSchedule(2.0), UTC)  # on multiples of 2 s since the epoch
    assert fires.instants_between(every, _ms(start), _ms(start + timedelta(seconds=10))) == 4
    assert fires.instants_between(every, 1, _ms(start)) == MOST
