"""APScheduler triggers ("timings" here: a trigger is the message tasks publish) for schedules.

Cron times are wall-clock times in the task's timezone, across DST changes as Debian's cron
(worker.schedule.vixie).
APScheduler is imported only when a timing is built.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from worker.schedule.cron import CronSchedule, IntervalSchedule, OnceSchedule, Schedule
from worker.schedule.vixie import VixieCron

_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)


def build_timing(
    schedule: Schedule, *, timezone: dt.tzinfo, aligned: bool, now: dt.datetime
) -> Any:
    """An APScheduler trigger for `schedule`; `now` (aware) anchors intervals and one-shots."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    match schedule:
        case CronSchedule(expr):
            return _cron_timing(expr, timezone)
        case IntervalSchedule(seconds):
            return _interval_timing(seconds, timezone, aligned=aligned, now=now)
        case OnceSchedule(after):
            from apscheduler.triggers.date import DateTrigger

            return DateTrigger(run_date=now + dt.timedelta(seconds=after), timezone=timezone)


def next_fire(
    schedule: Schedule, *, timezone: dt.tzinfo, aligned: bool, now: dt.datetime
) -> dt.datetime | None:
    """The first fire at or after `now`, in UTC; None when the schedule has no more."""
    timing = build_timing(schedule, timezone=timezone, aligned=aligned, now=now)
    fire: dt.datetime | None = timing.get_next_fire_time(None, now)
    return None if fire is None else fire.astimezone(_UTC)


def _interval_timing(
    seconds: float, timezone: dt.tzinfo, *, aligned: bool, now: dt.datetime
) -> Any:
    from apscheduler.triggers.interval import IntervalTrigger

    step = dt.timedelta(seconds=seconds)
    # Aligned: whole multiples of the interval since the epoch, the same on every replica.
    first = _EPOCH + step * ((now - _EPOCH) // step + 1) if aligned else now + step
    return IntervalTrigger(seconds=seconds, start_date=first, timezone=timezone)


def _cron_timing(expr: str, timezone: dt.tzinfo) -> Any:
    from apscheduler.triggers.base import BaseTrigger

    BaseTrigger.register(VixieCron)  # an ABC: keeps vixie.py free of APScheduler
    return VixieCron(expr, timezone)
