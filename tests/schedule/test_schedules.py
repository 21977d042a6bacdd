"""Schedules from settings: durations, intervals (aligned or not), one-shots, next fires in
UTC, and how a schedule is described in listings. Cron syntax: test_cron_syntax.py; time
zones and DST: test_dst.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from tests.schedule.support import BERLIN, fires, utc
from worker.schedule.cron import (
    CronSchedule,
    IntervalSchedule,
    OnceSchedule,
    Schedule,
    describe,
    is_subsecond,
    parse_schedule,
)
from worker.schedule.expressions import CronExpression
from worker.schedule.timing import build_timing, next_fire

# --- durations, intervals, one-shots ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("500ms", 0.5), ("15m", 900), ("1h", 3600), ("45", 45), (" 2.5s ", 2.5)],
)
def test_duration_setting_is_an_interval(text: str, seconds: float) -> None:
    assert parse_schedule(text) == IntervalSchedule(seconds)


def test_cron_setting_is_a_cron_schedule() -> None:
    assert parse_schedule(" 0  9 * * 1 ") == CronSchedule("0 9 * * 1")


@pytest.mark.parametrize("text", ["0s", "0", "0ms"])
def test_zero_interval_setting_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="must be greater than 0"):
        parse_schedule(text)


@pytest.mark.parametrize("text", ["soon", "30 seconds", "-5s", "5x", ""])
def test_garbage_setting_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match=r"^[^\n]+$"):
        parse_schedule(text)


@pytest.mark.parametrize("seconds", [0, -1, 1e-9, float("inf"), float("nan")])
def test_interval_must_be_positive(seconds: float) -> None:
    with pytest.raises(ValueError, match="interval must be greater than 0"):
        IntervalSchedule(seconds)


@pytest.mark.parametrize("after", [-1, float("inf")])
def test_delay_must_be_finite_and_not_negative(after: float) -> None:
    with pytest.raises(ValueError, match="delay must be"):
        OnceSchedule(after)


def test_unaligned_interval_first_fires_one_interval_after_now() -> None:
    now = utc(2026, 1, 7, 10, 0, 7) + timedelta(milliseconds=250)
    assert fires(IntervalSchedule(30), now, 3) == [
        now + timedelta(seconds=30),
        now + timedelta(seconds=60),
        now + timedelta(seconds=90),
    ]


def test_aligned_interval_fires_on_multiples_since_the_epoch() -> None:
    now = utc(2026, 1, 7, 10, 0, 7) + timedelta(milliseconds=250)
    assert fires(IntervalSchedule(30), now, 3, aligned=True) == [
        utc(2026, 1, 7, 10, 0, 30),
        utc(2026, 1, 7, 10, 1, 0),
        utc(2026, 1, 7, 10, 1, 30),
    ]


def test_aligned_interval_is_the_same_for_every_replica() -> None:
    starts = [utc(2026, 1, 7, 10, 0, 1), utc(2026, 1, 7, 10, 3, 59), utc(2026, 1, 7, 10, 4, 59)]
    firsts = {
        fire.minute % 5 for s in starts for fire in fires(IntervalSchedule(300), s, 3, aligned=True)
    }
    assert firsts == {0}


def test_aligned_interval_ignores_the_timezone() -> None:
    now = utc(2026, 1, 7, 10, 0, 7)
    expected = fires(IntervalSchedule(3600), now, 2, aligned=True)
    assert (
        fires(IntervalSchedule(3600), now, 2, aligned=True, zone=ZoneInfo("Asia/Kolkata"))
        == expected
    )


def test_aligned_subsecond_interval_fires_on_whole_and_half_seconds() -> None:
    now = utc(2026, 1, 7, 10, 0, 0) + timedelta(milliseconds=123)
    found = fires(IntervalSchedule(0.5), now, 6, aligned=True)
    assert found[0] == utc(2026, 1, 7, 10, 0, 0) + timedelta(milliseconds=500)
    assert [b - a for a, b in pairwise(found)] == [timedelta(seconds=0.5)] * 5
    assert {fire.microsecond for fire in found} == {0, 500_000}


def test_once_fires_after_the_delay_then_never_again() -> None:
    now = utc(2026, 1, 7, 10, 0, 0)
    assert fires(OnceSchedule(5), now, 5) == [utc(2026, 1, 7, 10, 0, 5)]


def test_next_fire_is_in_utc() -> None:
    fire = next_fire(OnceSchedule(1.5), timezone=BERLIN, aligned=False, now=utc(2026, 1, 7))
    assert fire == utc(2026, 1, 7, 0, 0, 1) + timedelta(milliseconds=500)
    assert fire is not None
    assert fire.tzinfo is UTC


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_timing(IntervalSchedule(1), timezone=UTC, aligned=False, now=datetime(2026, 1, 7))


@pytest.mark.parametrize(
    ("schedule", "text"),
    [
        (CronSchedule("*/5 * * * *"), "*/5 * * * *"),
        (IntervalSchedule(30), "every 30s"),
        (IntervalSchedule(0.5), "every 500ms"),
        (IntervalSchedule(900), "every 15m"),
        (OnceSchedule(5), "once after 5s"),
    ],
)
def test_describe_for_listings(schedule: Schedule, text: str) -> None:
    assert describe(schedule) == text


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (CronSchedule(CronExpression.EVERY_SECOND), False),
        (IntervalSchedule(2), False),
        (IntervalSchedule(0.5), True),
        (IntervalSchedule(1.5), True),
        (OnceSchedule(3), False),
        (OnceSchedule(0.25), True),
    ],
)
def test_is_subsecond_when_fires_can_carry_milliseconds(schedule: Schedule, expected: bool) -> None:
    assert is_subsecond(schedule) is expected


def test_the_next_fire_of_a_described_schedule_as_a_replica_writes_it() -> None:
    """`status` reads the fleet's schedule from a replica's catalogue (`describe`'s text)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from worker.schedule.timing import next_fire_described

    now = datetime(2026, 5, 1, 9, 50, 1, tzinfo=UTC)
    utc = ZoneInfo("UTC")
    cron = next_fire_described("*/15 * * * *", timezone=utc, aligned=True, now=now)
    assert cron == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    aligned = next_fire_described("every 30s", timezone=utc, aligned=True, now=now)
    assert aligned == datetime(2026, 5, 1, 9, 50, 30, tzinfo=UTC)
    planned = datetime(2026, 5, 1, 9, 49, 50, tzinfo=UTC)  # a replica's, passed by the read
    own = next_fire_described("every 30s", timezone=utc, aligned=False, now=now, last=planned)
    assert own == datetime(2026, 5, 1, 9, 50, 20, tzinfo=UTC)
    assert next_fire_described("every 30s", timezone=utc, aligned=False, now=now) is None
    assert next_fire_described("once after 5s", timezone=utc, aligned=False, now=now) is None
