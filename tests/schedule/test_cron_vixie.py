"""Cron around DST changes, each case checked by hand against Debian's cron.c.

The rule, by syntax: a *wildcard* job (seconds, minute or hour field starting with `*`) runs
at real matching instants only: nothing in a spring gap, both passes of a repeated time. A
*fixed-time* job whose time fell in a gap runs once at the first instant after it, and a
repeated time runs on its first pass only. Times below are local, with their UTC offset.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from worker.schedule.cron import parse_cron
from worker.schedule.timing import build_timing
from worker.schedule.vixie import VixieCron

BERLIN = ZoneInfo("Europe/Berlin")  # 2026-03-29 02:00 -> 03:00; 2026-10-25 03:00 -> 02:00
NEW_YORK = ZoneInfo("America/New_York")  # 2027-03-14 02:00 -> 03:00; 2027-11-07 02:00 -> 01:00
LORD_HOWE = ZoneInfo(
    "Australia/Lord_Howe"
)  # 30 min: 2027-04-04 02:00 -> 01:30; 10-03 02:00 -> 02:30
SANTIAGO = ZoneInfo(
    "America/Santiago"
)  # at midnight: 2027-04-04 00:00 -> 04-03 23:00; 09-05 00:00 -> 01:00


def day_fires(expr: str, zone: ZoneInfo, day: date) -> list[str]:
    """Fires from local midnight of `day` to the next, followed as APScheduler does."""
    trigger = VixieCron(expr, zone)
    start = datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    found: list[str] = []
    previous, now = None, start
    while (fire := trigger.get_next_fire_time(previous, now)) is not None and fire < end:
        found.append(fire.strftime("%H:%M%z"))
        previous = now = fire
    return found


CASES = [
    # --- the table ---
    # Wildcard hour: 02:30 does not exist and is skipped; no extra 03:00.
    (
        "30 * * * *",
        BERLIN,
        date(2026, 3, 29),
        ["00:30+0100", "01:30+0100"] + [f"{h:02}:30+0200" for h in range(3, 24)],
    ),
    # Wildcard minute: every 02:xx is in the gap, so nothing runs that day.
    ("*/20 2 * * *", BERLIN, date(2026, 3, 29), []),
    # Fixed time in the gap: once, at the first instant after it.
    ("30 2 * * *", BERLIN, date(2026, 3, 29), ["03:00+0200"]),
    # Fixed time (no `*` in minute or hour): 01:00 repeats but runs on its first pass only.
    ("0 0-2 * * *", NEW_YORK, date(2027, 11, 7), ["00:00-0400", "01:00-0400", "02:00-0500"]),
    # Wildcard hour with a 30-minute fall-back: 01:45 happens twice and runs twice.
    (
        "45 * * * *",
        LORD_HOWE,
        date(2027, 4, 4),
        ["00:45+1100", "01:45+1100", "01:45+1030"] + [f"{h:02}:45+1030" for h in range(2, 24)],
    ),
    # --- our own ---
    # Wildcard minute, fall-back: every 02:xx match runs on both passes.
    (
        "*/20 2 * * *",
        BERLIN,
        date(2026, 10, 25),
        ["02:00+0200", "02:20+0200", "02:40+0200", "02:00+0100", "02:20+0100", "02:40+0100"],
    ),
    # Fixed times, fall-back: 02:00 and 02:30 only on the first (summer-time) pass.
    (
        "0,30 1-3 * * *",
        BERLIN,
        date(2026, 10, 25),
        ["01:00+0200", "01:30+0200", "02:00+0200", "02:30+0200", "03:00+0100", "03:30+0100"],
    ),
    # Fixed time in a 30-minute gap (02:00-02:29 missing): runs at 02:30, the gap's end.
    ("15 2 * * *", LORD_HOWE, date(2027, 10, 3), ["02:30+1100"]),
    # 02:30 is the first real time after that gap: it runs there once, not twice.
    ("30 2 * * *", LORD_HOWE, date(2027, 10, 3), ["02:30+1100"]),
    # Wildcard minute in the 30-minute gap: only the 30 real minutes 02:30-02:59 run.
    ("* 2 * * *", LORD_HOWE, date(2027, 10, 3), [f"02:{m}+1100" for m in range(30, 60)]),
    # Hourly on the 30-minute fall-back: 01:00 is before the repeated 01:30-01:59, so once.
    (
        "0 * * * *",
        LORD_HOWE,
        date(2027, 4, 4),
        ["00:00+1100", "01:00+1100"] + [f"{h:02}:00+1030" for h in range(2, 24)],
    ),
    # Fixed 01:45 in Lord Howe's repeated half hour: the first pass only.
    ("45 1 * * *", LORD_HOWE, date(2027, 4, 4), ["01:45+1100"]),
    # Fixed 02:00 in New York's gap (02:00-02:59): runs at 03:00 EDT.
    ("0 2 * * *", NEW_YORK, date(2027, 3, 14), ["03:00-0400"]),
    # 01:59 is the last real minute before the gap: it runs at its time, nothing at 03:00.
    ("59 1 * * *", NEW_YORK, date(2027, 3, 14), ["01:59-0500"]),
    # Six fields, all fixed: the seconds field does not make it a wildcard job.
    ("0 30 2 * * *", BERLIN, date(2026, 3, 29), ["03:00+0200"]),
    # Six fields with seconds `*`: a wildcard job, so its gap times are skipped.
    ("* 30 2 * * *", BERLIN, date(2026, 3, 29), []),
    # @hourly expands to `0 * * * *` (cron.c sets HR_STAR): all 25 hours of the long day.
    (
        "@hourly",
        NEW_YORK,
        date(2027, 11, 7),
        ["00:00-0400", "01:00-0400", "01:00-0500"] + [f"{h:02}:00-0500" for h in range(2, 24)],
    ),
    # A gap at midnight (Santiago): a fixed 00:30 runs at 01:00, on the right date.
    ("30 0 5 9 *", SANTIAGO, date(2027, 9, 5), ["01:00-0300"]),
    # Santiago's fall-back repeats 23:00-23:59 of the day before: fixed 23:30 runs once.
    ("30 23 * * *", SANTIAGO, date(2027, 4, 3), ["23:30-0300"]),
    # The same time as a wildcard job runs on both passes.
    (
        "30 * * * *",
        SANTIAGO,
        date(2027, 4, 3),
        [f"{h:02}:30-0300" for h in range(24)] + ["23:30-0400"],
    ),
]


@pytest.mark.parametrize(("expr", "zone", "day", "expected"), CASES)
def test_fires_on_a_dst_change_day_as_debian_cron(
    expr: str, zone: ZoneInfo, day: date, expected: list[str]
) -> None:
    assert day_fires(expr, zone, day) == expected


def test_equal_ends_stepped_range_is_one_value() -> None:
    # `2-2/9` is minute 2 only in Vixie cron (cronsim reads it as `2/9`: 2, 11, 20...).
    assert day_fires("2-2/9 * * * *", ZoneInfo("UTC"), date(2027, 4, 4))[:3] == [
        "00:02+0000",
        "01:02+0000",
        "02:02+0000",
    ]


def next_from(expr: str, zone: ZoneInfo, now: datetime) -> str:
    fire = VixieCron(expr, zone).get_next_fire_time(None, now)
    assert fire is not None
    return fire.strftime("%Y-%m-%d %H:%M%z")


SECOND_PASS = datetime(2026, 10, 25, 2, 10, tzinfo=BERLIN, fold=1)  # 02:10 CET, a booting worker


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        # Fixed 02:30 already ran at 02:30 CEST: not again at 02:30 CET, next day instead.
        ("30 2 * * *", "2026-10-26 02:30+0100"),
        # Wildcard minute: the next real match after the start, on the second pass.
        ("*/20 2 * * *", "2026-10-25 02:20+0100"),
        # Hourly: never 02:00 (either pass) before the start; 03:00 CET next.
        ("0 * * * *", "2026-10-25 03:00+0100"),
    ],
)
def test_start_inside_a_repeated_hour(expr: str, expected: str) -> None:
    assert next_from(expr, BERLIN, SECOND_PASS) == expected


def test_start_right_at_the_end_of_a_gap_still_runs_the_skipped_fixed_time() -> None:
    # 03:00 CEST is the gap's end; "at or after now" includes it.
    now = datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN)
    assert next_from("30 2 * * *", BERLIN, now) == "2026-03-29 03:00+0200"


def test_a_gap_fire_is_not_repeated_when_followed() -> None:
    trigger = VixieCron("30 2 * * *", BERLIN)
    fire = datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN)
    assert trigger.get_next_fire_time(fire, fire) == datetime(2026, 3, 30, 2, 30, tzinfo=BERLIN)


def test_cron_timing_uses_no_apscheduler_cron_trigger() -> None:
    code = (
        "import sys, datetime as dt; from worker.schedule.cron import parse_cron;"
        "from worker.schedule.timing import build_timing;"
        "t = build_timing(parse_cron('0 9 * * 1'), timezone=dt.UTC, aligned=False,"
        " now=dt.datetime.now(dt.UTC)); t.get_next_fire_time(None, dt.datetime.now(dt.UTC));"
        "print('apscheduler.triggers.cron' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_build_timing_gives_the_vixie_trigger() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert isinstance(
        build_timing(parse_cron("* * * * *"), timezone=UTC, aligned=False, now=now), VixieCron
    )
