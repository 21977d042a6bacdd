"""`list`/`status` text shows next fires on the task's wall clock with the UTC offset."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from worker.cli.inspect import _status_text, local
from worker.state.rows import iso

BERLIN = ZoneInfo("Europe/Berlin")


def test_local_time_carries_the_offset_that_tells_the_two_passes_apart() -> None:
    first, second = (
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    )
    assert local(first, BERLIN) == "2026-10-25 02:30:00+02:00"
    assert local(second, BERLIN) == "2026-10-25 02:30:00+01:00"


def test_local_time_keeps_milliseconds_only_when_there_are_some() -> None:
    moment = datetime(2026, 1, 7, 12, 0, 0, 250_000, tzinfo=UTC)
    assert local(moment, UTC) == "2026-01-07 12:00:00.250+00:00"
    assert local(None, UTC) is None


def test_status_text_shows_the_json_instant_in_the_tasks_zone() -> None:
    fire = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    task = {
        "name": "report",
        "last_run": None,
        "outcome": None,
        "duration_ms": None,
        "disabled": False,
        "next_fire": iso(fire),
        "running_since": None,
        "consecutive_failures": 0,
    }
    text = _status_text({"instances": [], "tasks": [task]}, [BERLIN])
    assert iso(fire) == "2026-07-01T07:00:00Z"  # the JSON form stays UTC
    assert "2026-07-01 09:00:00+02:00" in text.splitlines()[-1]
