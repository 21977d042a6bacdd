"""Cron with its standard meaning: fields, names, macros, lists, ranges and steps, the
messages of an invalid expression, and every fire of a random expression matching it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.schedule.support import WEDNESDAY, Field, field, fires, utc
from worker.schedule.cron import CronSchedule, parse_cron
from worker.schedule.expressions import CronExpression
from worker.schedule.timing import next_fire

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
