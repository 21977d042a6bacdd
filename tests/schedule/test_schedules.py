"""Schedules: cron with its standard meaning, durations, triggers, time zones and DST."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from worker.schedule.cron import (
    CronSchedule,
    IntervalSchedule,
    OnceSchedule,
    Schedule,
    describe,
    is_subsecond,
    parse_cron,
    parse_schedule,
)
from worker.schedule.expressions import CronExpression
from worker.schedule.timing import build_timing, next_fire

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEDNESDAY = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)


def fires(
    schedule: Schedule | str,
    start: datetime,
    count: int = 0,
    *,
    until: datetime | None = None,
    zone: tzinfo = UTC,
    aligned: bool = False,
) -> list[datetime]:
    """Follow the trigger as APScheduler does (previous fire time -> next), in UTC."""
    if isinstance(schedule, str):
        schedule = parse_cron(schedule)
    trigger = build_timing(schedule, timezone=zone, aligned=aligned, now=start)
    found: list[datetime] = []
    previous: datetime | None = None
    now = start
    while len(found) < count or until is not None:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None or (until is not None and fire > until):
            break
        found.append(fire.astimezone(UTC))
        previous = now = fire
    return found


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- cron syntax -------------------------------------------------------------------------


def test_every_nestjs_cron_expression_parses() -> None:
    presets = {k: v for k, v in vars(CronExpression).items() if k.isupper()}
    assert len(presets) >= 80
    assert presets["EVERY_15_MINUTES"] == "0 */15 * * * *"
    for expr in presets.values():
        assert parse_cron(expr).expr == expr


def test_every_nestjs_cron_expression_has_a_next_fire() -> None:
    for name, expr in vars(CronExpression).items():
        if name.isupper():
            assert next_fire(parse_cron(expr), timezone=UTC, aligned=False, now=WEDNESDAY), name


def test_five_fields_are_minute_hour_day_month_weekday() -> None:
    assert fires("*/15 9 * * *", utc(2026, 1, 7, 9, 7, 30), 2) == [
        utc(2026, 1, 7, 9, 15),
        utc(2026, 1, 7, 9, 30),
    ]


def test_six_fields_start_with_seconds() -> None:
    assert fires("*/10 * * * * *", utc(2026, 1, 7, 9, 0, 3), 2) == [
        utc(2026, 1, 7, 9, 0, 10),
        utc(2026, 1, 7, 9, 0, 20),
    ]


@pytest.mark.parametrize(
    ("macro", "equivalent"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macro_fires_like_its_expansion(macro: str, equivalent: str) -> None:
    assert fires(macro, WEDNESDAY, 3) == fires(equivalent, WEDNESDAY, 3)


def test_expression_is_kept_as_written_with_whitespace_normalised() -> None:
    assert parse_cron("  0\t9  * *   MON ") == CronSchedule("0 9 * * MON")


def test_month_names_are_case_insensitive() -> None:
    assert fires("0 0 1 JAN,jul *", WEDNESDAY, 2) == [utc(2026, 7, 1), utc(2027, 1, 1)]


def test_weekday_names_are_case_insensitive() -> None:
    assert fires("0 9 * * Mon-fri", utc(2026, 1, 9, 10), 2) == [  # from a Friday
        utc(2026, 1, 12, 9),
        utc(2026, 1, 13, 9),
    ]


@pytest.mark.parametrize("sunday", ["0", "7", "sun", "SUN"])
def test_weekday_0_and_7_are_sunday(sunday: str) -> None:
    assert fires(f"0 9 * * {sunday}", WEDNESDAY, 2) == [utc(2026, 1, 11, 9), utc(2026, 1, 18, 9)]


def test_weekday_1_is_monday() -> None:
    assert fires("0 9 * * 1", WEDNESDAY, 1) == [utc(2026, 1, 12, 9)]


def test_weekday_range_through_7_ends_on_sunday() -> None:
    assert fires("0 9 * * 6-7", WEDNESDAY, 3) == [
        utc(2026, 1, 10, 9),
        utc(2026, 1, 11, 9),
        utc(2026, 1, 17, 9),
    ]


def test_restricted_day_of_month_or_day_of_week_fires() -> None:
    # The 13th of each month and every Friday; 2026-02-13 and 2026-03-13 are both.
    assert fires("0 0 13 * 5", utc(2026, 1, 1), 7) == [
        utc(2026, 1, 2),
        utc(2026, 1, 9),
        utc(2026, 1, 13),
        utc(2026, 1, 16),
        utc(2026, 1, 23),
        utc(2026, 1, 30),
        utc(2026, 2, 6),
    ]
    assert fires("0 0 13 * 5", utc(2026, 2, 7), 2) == [utc(2026, 2, 13), utc(2026, 2, 20)]


def test_day_field_written_with_star_leaves_the_other_in_charge() -> None:
    # Vixie cron: `*/2` does not restrict for the OR rule, so odd days that are Fridays.
    assert fires("0 0 */2 * fri", utc(2026, 1, 1), 2) == [utc(2026, 1, 9), utc(2026, 1, 23)]


def test_day_of_month_alone_restricts_the_day() -> None:
    assert fires("0 0 13 * *", utc(2026, 1, 1), 2) == [utc(2026, 1, 13), utc(2026, 2, 13)]


@pytest.mark.parametrize(
    ("expr", "hours"),
    [
        ("0 9-17/4 * * *", [9, 13, 17]),
        ("0 5,10,20 * * *", [5, 10, 20]),
        ("0 22-23,0-1 * * *", [0, 1, 22, 23]),
        ("0 10/6 * * *", [10, 16, 22]),
        ("0 */8 * * *", [0, 8, 16]),
        ("0 0-23/1 * * *", list(range(24))),
    ],
)
def test_lists_ranges_and_steps_select_hours(expr: str, hours: list[int]) -> None:
    day = fires(expr, utc(2026, 1, 7), until=utc(2026, 1, 7, 23, 59))
    assert [fire.hour for fire in day] == hours


def test_step_larger_than_the_range_keeps_the_first_value() -> None:
    assert fires("*/45 * * * *", utc(2026, 1, 7, 9, 1), 2) == [
        utc(2026, 1, 7, 9, 45),
        utc(2026, 1, 7, 10, 0),
    ]


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("60 * * * * *", "second field '60' out of range 0-59"),
        ("61 * * * *", "minute field '61' out of range 0-59"),
        ("0 24 * * *", "hour field '24' out of range 0-23"),
        ("0 0 0 * *", "day-of-month field '0' out of range 1-31"),
        ("0 0 32 * *", "day-of-month field '32' out of range 1-31"),
        ("0 0 * 13 *", "month field '13' out of range 1-12"),
        ("0 0 * * 8", "day-of-week field '8' out of range 0-7"),
        ("0 1-30 * * *", "hour field '30' out of range 0-23"),
        ("*/0 * * * *", "minute field '*/0': step must be a whole number >= 1"),
        ("0 0-12/x * * *", "hour field '0-12/x': step must be a whole number >= 1"),
        ("0 0 * foo *", "month field 'foo' is not a number or name"),
        ("0 0 * * funday", "day-of-week field 'funday' is not a number or name"),
        ("0 mon * * *", "hour field 'mon' is not a number"),
        ("5,,10 * * * *", "minute field '' is not a number"),
        ("30-10 * * * *", "minute field '30-10': range 30-10 is backwards"),
        ("0 0 30 2 *", "day-of-month field '30' never occurs in months '2'"),
        ("* * * *", "expected 5 or 6 fields or a macro, got 4"),
        ("* * * * * * *", "expected 5 or 6 fields or a macro, got 7"),
        ("garbage", "expected 5 or 6 fields or a macro, got 1"),
        ("@reboot", "unknown macro '@reboot'"),
        ("", "empty cron expression"),
        ("  \t ", "empty cron expression"),
    ],
)
def test_invalid_cron_raises_a_one_line_message_naming_the_problem(expr: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^[^\n]*$") as error:
        parse_cron(expr)
    assert message in str(error.value)


def test_cron_schedule_cannot_be_built_invalid() -> None:
    with pytest.raises(ValueError, match="minute field '99'"):
        CronSchedule("99 * * * *")


def test_parsing_does_not_import_apscheduler() -> None:
    code = (
        "import sys; from worker.schedule.cron import parse_schedule, describe;"
        "describe(parse_schedule('0 9 * * 1')); describe(parse_schedule('30s'));"
        "print(sorted(m for m in sys.modules if m.startswith('apscheduler')))"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- property: every fire satisfies the expression -------------------------------------------


class Field(NamedTuple):
    text: str
    values: frozenset[int]
    star: bool  # written starting with `*`


def field(low: int, high: int, names: tuple[str, ...] = ()) -> st.SearchStrategy[Field]:
    def spell(value: int) -> st.SearchStrategy[str]:
        options = [str(value)]
        if names and value - low < len(names):
            options += [names[value - low], names[value - low].upper()]
        return st.sampled_from(options)

    def spelled(values: list[int]) -> st.SearchStrategy[list[str]]:
        return st.tuples(*(spell(v) for v in values)).map(list)

    number = st.integers(low, high)
    everything = st.just(Field("*", frozenset(range(low, high + 1)), star=True))
    every_nth = st.integers(1, high - low + 1).map(
        lambda n: Field(f"*/{n}", frozenset(range(low, high + 1, n)), star=True)
    )
    one_list = st.lists(number, min_size=1, max_size=4).flatmap(
        lambda vs: spelled(vs).map(lambda ts: Field(",".join(ts), frozenset(vs), star=False))
    )
    bounds = st.tuples(number, number).map(sorted)
    stepped_range = st.tuples(bounds, st.integers(1, 5)).flatmap(
        lambda t: spelled(t[0]).map(
            lambda ts: Field(
                f"{ts[0]}-{ts[1]}/{t[1]}", frozenset(range(t[0][0], t[0][1] + 1, t[1])), star=False
            )
        )
    )
    return st.one_of(everything, every_nth, one_list, stepped_range)


MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    minute=field(0, 59),
    hour=field(0, 23),
    day=field(1, 31),
    month=field(1, 12, MONTHS),
    weekday=field(0, 7, WEEKDAYS),
    start=st.datetimes(datetime(2000, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC)),
    zone=st.sampled_from(["UTC", "Asia/Tokyo", "Asia/Kolkata"]),
)
def test_every_fire_of_a_random_expression_matches_it(
    minute: Field, hour: Field, day: Field, month: Field, weekday: Field, start: datetime, zone: str
) -> None:
    either_day = not day.star and not weekday.star
    assume(either_day or any(min(day.values) <= MONTH_DAYS[m - 1] for m in month.values))
    expr = " ".join(f.text for f in (minute, hour, day, month, weekday))
    found = fires(expr, start, 6, zone=ZoneInfo(zone))
    assert len(found) == 6
    assert found[0] >= start
    assert all(a < b for a, b in pairwise(found))
    sundays = frozenset(d % 7 for d in weekday.values)
    for fire in found:
        local = fire.astimezone(ZoneInfo(zone))
        assert (local.second, local.minute in minute.values) == (0, True)
        assert local.hour in hour.values
        assert local.month in month.values
        day_ok, weekday_ok = local.day in day.values, local.isoweekday() % 7 in sundays
        assert (day_ok or weekday_ok) if either_day else (day_ok and weekday_ok)


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
