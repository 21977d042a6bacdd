"""Cron next fires shared by tasks on one schedule: the same answers, computed once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest.mock import Mock
from zoneinfo import ZoneInfo

from worker.schedule.cron import CronSchedule
from worker.schedule.shared import NextFires
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
