"""Triggers as APScheduler sees them, cron on the wall clock of its time zone, and DST
changes: gaps, repeated hours, 23- and 25-hour days."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.schedule.support import BERLIN, NEW_YORK, WEDNESDAY, Field, field, fires, utc
from worker.schedule.cron import IntervalSchedule, OnceSchedule, parse_cron
from worker.schedule.timing import build_timing, next_fire

# --- APScheduler contract, time zones, DST ----------------------------------------------------


def test_trigger_keeps_apschedulers_contract_for_missed_runs() -> None:
    trigger = build_timing(parse_cron("0 9 * * *"), timezone=BERLIN, aligned=False, now=WEDNESDAY)
    previous = datetime(2026, 1, 5, 9, tzinfo=BERLIN)
    missed = trigger.get_next_fire_time(previous, datetime(2026, 1, 8, 12, tzinfo=BERLIN))
    assert missed == datetime(2026, 1, 6, 9, tzinfo=BERLIN)
    assert missed.tzinfo is BERLIN


def test_trigger_is_an_apscheduler_trigger() -> None:
    from apscheduler.triggers.base import BaseTrigger

    for schedule in (parse_cron("0 9 * * *"), IntervalSchedule(1), OnceSchedule(1)):
        trigger = build_timing(schedule, timezone=BERLIN, aligned=False, now=WEDNESDAY)
        assert isinstance(trigger, BaseTrigger)


@pytest.mark.parametrize(
    ("now", "expected"),
    [(utc(2026, 1, 7, 12), utc(2026, 1, 8, 8)), (utc(2026, 7, 7, 12), utc(2026, 7, 8, 7))],
)
def test_cron_runs_on_the_wall_clock_of_its_timezone(now: datetime, expected: datetime) -> None:
    fire = next_fire(parse_cron("0 9 * * *"), timezone=BERLIN, aligned=False, now=now)
    assert fire == expected


class Change(NamedTuple):
    zone: ZoneInfo
    day: date
    skipped: bool  # spring forward


CHANGES = [
    Change(BERLIN, date(2026, 3, 29), skipped=True),
    Change(BERLIN, date(2026, 10, 25), skipped=False),
    Change(NEW_YORK, date(2026, 3, 8), skipped=True),
    Change(NEW_YORK, date(2026, 11, 1), skipped=False),
]


def local_fires(expr: str, zone: ZoneInfo, first: date, last: date) -> list[datetime]:
    """The fires (UTC) from local midnight of `first` to the end of local day `last`."""
    start = datetime.combine(first, datetime.min.time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    return fires(expr, start, until=end - timedelta(microseconds=1), zone=zone)


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: f"{c.zone.key}-{c.day}")
def test_daily_0230_fires_once_a_day_across_a_dst_change(change: Change) -> None:
    first, last = change.day - timedelta(days=3), change.day + timedelta(days=3)
    found = local_fires("30 2 * * *", change.zone, first, last)
    per_day = Counter(fire.astimezone(change.zone).date() for fire in found)
    assert per_day == {first + timedelta(days=n): 1 for n in range(7)}


@pytest.mark.parametrize("change", [c for c in CHANGES if c.skipped], ids=lambda c: c.zone.key)
def test_skipped_time_fires_at_the_first_instant_after_the_gap(change: Change) -> None:
    (fire,) = (
        f.astimezone(change.zone)
        for f in local_fires("30 2 * * *", change.zone, change.day, change.day)
    )
    assert (fire.hour, fire.minute) == (3, 0)
    assert fire.utcoffset() == change.zone.utcoffset(datetime(2026, 7, 1))  # summer time


@pytest.mark.parametrize(
    ("expr", "zone", "day", "first_pass"),
    [
        ("30 2 * * *", BERLIN, date(2026, 10, 25), utc(2026, 10, 25, 0, 30)),
        ("30 1 * * *", NEW_YORK, date(2026, 11, 1), utc(2026, 11, 1, 5, 30)),
    ],
)
def test_repeated_time_fires_once_on_its_first_pass(
    expr: str, zone: ZoneInfo, day: date, first_pass: datetime
) -> None:
    assert local_fires(expr, zone, day, day) == [first_pass]


def test_hourly_fires_every_real_hour_on_a_25_hour_day() -> None:
    day = local_fires("0 * * * *", NEW_YORK, date(2026, 11, 1), date(2026, 11, 1))
    assert len(day) == 25
    assert [b - a for a, b in pairwise(day)] == [timedelta(hours=1)] * 24
    assert [f.astimezone(NEW_YORK).hour for f in day[:4]] == [0, 1, 1, 2]


def test_hourly_fires_23_times_on_a_23_hour_day() -> None:
    day = local_fires("0 * * * *", BERLIN, date(2026, 3, 29), date(2026, 3, 29))
    assert [f.astimezone(BERLIN).hour for f in day] == [0, 1, *range(3, 24)]


def test_every_minute_fires_every_real_minute_through_the_repeated_hour() -> None:
    start, end = utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 1, 59)
    assert fires("* * * * *", start, until=end, zone=BERLIN) == [
        start + timedelta(minutes=n) for n in range(120)
    ]


def test_quarter_hours_in_the_skipped_hour_are_skipped() -> None:
    # A wildcard job (minute `*/15`): Vixie cron runs it at real matching instants only.
    found = fires("*/15 * * * *", utc(2026, 3, 29, 0, 30), 4, zone=BERLIN)
    assert [f.astimezone(BERLIN).strftime("%H:%M%z") for f in found] == [
        "01:30+0100",
        "01:45+0100",
        "03:00+0200",
        "03:15+0200",
    ]


def test_fall_back_fire_compares_in_utc_when_following_the_trigger() -> None:
    # 02:30 CEST and 02:30 CET never compare equal across zones: the trigger must not loop.
    trigger = build_timing(parse_cron("30 2 * * *"), timezone=BERLIN, aligned=False, now=WEDNESDAY)
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    assert trigger.get_next_fire_time(first, first) == datetime(2026, 10, 26, 2, 30, tzinfo=BERLIN)


@settings(max_examples=100, deadline=None)
@given(
    minute=field(0, 59),
    hour=field(0, 23),
    change=st.sampled_from(CHANGES),
    hours_before=st.integers(0, 72),
)
def test_fires_across_a_dst_change_match_or_follow_a_gap_and_always_move_forward(
    minute: Field, hour: Field, change: Change, hours_before: int
) -> None:
    midnight = datetime.combine(change.day, datetime.min.time(), change.zone)
    found = fires(
        f"{minute.text} {hour.text} * * *",
        midnight - timedelta(hours=hours_before),
        12,
        zone=change.zone,
    )
    assert all(a < b for a, b in pairwise(found))
    for fire in found:
        local = fire.astimezone(change.zone)
        before = (fire - timedelta(microseconds=1)).astimezone(change.zone).utcoffset()
        after_gap = before is not None and before < (local.utcoffset() or before)
        assert after_gap or (local.minute in minute.values and local.hour in hour.values)
