"""Cron fire times across DST changes exactly as Debian's cron (Vixie cron) runs them.

Debian's cron.c tells jobs apart by syntax. A *wildcard* job (its seconds, minute or hour
field starts with `*`) runs at real matching instants only: wall times skipped by a spring
gap are skipped, wall times repeated by a fall-back run on both passes. A *fixed-time* job
whose time fell in a gap runs once at the first instant after it, and a repeated time runs
on its first pass only. Any shift size: Lord Howe moves by 30 minutes.

Away from a change a call costs one offset look-up, one wall-clock match and one table
look-up for changes in reach; only a change between the start and the candidate costs more.
Nothing here imports APScheduler: timing.py registers the class as an APScheduler trigger.
"""

from __future__ import annotations

import datetime as dt

from typing_extensions import override

from worker.schedule.cron import parse_fields
from worker.schedule.wallclock import WallClock
from worker.schedule.zones import Change, next_change, stretch

_UTC = dt.UTC
_TICK = dt.timedelta(microseconds=1)
_SECOND = dt.timedelta(seconds=1)
_MOST_CHANGES = 1000  # a century of twice-yearly changes, with room: then give up


class VixieCron:
    """An APScheduler 3 trigger (CronTrigger's contract) for one cron expression in one zone."""

    __slots__ = ("_clock", "_expr", "_wildcard", "timezone")

    def __init__(self, expr: str, timezone: dt.tzinfo) -> None:
        self._clock = WallClock(expr)
        self._wildcard = parse_fields(expr).wildcard
        self._expr = expr
        self.timezone = timezone

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime | None:
        """The first fire at or after min(now, just after previous), in the trigger's zone."""
        # In UTC: aware datetimes in a repeated hour never compare equal across zones.
        start = now.astimezone(_UTC)
        if previous_fire_time is not None:
            previous = previous_fire_time.astimezone(_UTC)
            start = previous + _TICK if start == previous else min(start, previous + _TICK)
        fire = self.first_fire(start.replace(tzinfo=None))
        return None if fire is None else fire.replace(tzinfo=_UTC).astimezone(self.timezone)

    def first_fire(self, start: dt.datetime) -> dt.datetime | None:
        """The first fire at or after `start`; both naive UTC."""
        instant = start if not start.microsecond else start.replace(microsecond=0) + _SECOND
        for _ in range(_MOST_CHANGES):
            offset, last = stretch(self.timezone, instant)
            if not self._wildcard and last is not None:
                if last.at == instant and self._gap_matched(last):
                    return instant  # started right at the end of a gap that held our time
                if last.after < last.before:  # past a fall-back: skip its second pass
                    instant = max(instant, last.at + (last.before - last.after))
            wall = self._clock.next_match(instant + offset)
            if wall is None:
                return None
            fire = wall - offset
            change = next_change(self.timezone, instant, fire)
            if change is None:
                return fire
            if not self._wildcard and self._gap_matched(change):
                return change.at  # a fixed time fell in the gap: once, right after it
            instant = change.at
        return None

    def _gap_matched(self, change: Change) -> bool:
        """A spring-forward `change` skipped a wall time this schedule matches."""
        if change.after <= change.before:
            return False
        wall = self._clock.next_match(change.at + change.before)
        return wall is not None and wall < change.at + change.after

    @override
    def __str__(self) -> str:
        return f"cron[{self._expr}, {self.timezone}]"
