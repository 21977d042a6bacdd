"""APScheduler triggers ("timings" here: a trigger is the message tasks publish) for schedules.

Cron times are wall-clock times in the task's timezone, across DST changes as Debian's cron
(worker.schedule.vixie).
APScheduler is imported only when a timing is built.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from worker.schedule.cron import (
    CronSchedule,
    IntervalSchedule,
    OnceSchedule,
    Schedule,
    parse_cron,
)
from worker.schedule.vixie import VixieCron
from worker.settings.durations import parse_duration

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


def next_fire_described(
    described: str,
    *,
    timezone: dt.tzinfo,
    aligned: bool,
    now: dt.datetime,
    last: dt.datetime | None = None,
) -> dt.datetime | None:
    """The next fire of a schedule as `describe` wrote it (a replica's catalogue), in UTC.

    An interval not aligned to the epoch (an instance task's) counts on from `last`, the fire
    a replica planned; a one-shot has no next fire to tell from here.
    """
    if described.startswith("once after "):
        return None
    if not described.startswith("every "):
        return next_fire(parse_cron(described), timezone=timezone, aligned=aligned, now=now)
    seconds = parse_duration(described.removeprefix("every "))
    if aligned:
        return next_fire(IntervalSchedule(seconds), timezone=timezone, aligned=True, now=now)
    if last is None:
        return None
    step = dt.timedelta(seconds=seconds)
    return last + step * math.ceil(max(now - last, dt.timedelta(0)) / step)
