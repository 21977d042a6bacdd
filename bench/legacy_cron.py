"""The cron trigger as it was before the Vixie evaluator, kept only to bench before/after.

A verbatim copy of WallClockCron and its builder from worker/schedule/timing.py at commit
41ac63a: APScheduler CronTriggers on a DST-free clock, walked across offset changes.
"""

# ruff: noqa

from __future__ import annotations

import datetime as dt
from typing import Any

from worker.schedule.cron import FIELDS, WEEKDAYS, Field, parse_fields

_UTC = dt.UTC
_TICK = dt.timedelta(microseconds=1)
_DAY = dt.timedelta(days=1)


def legacy_cron(expr: str, timezone: dt.tzinfo) -> Any:
    """The trigger worker.schedule.timing built before VixieCron (commit 41ac63a)."""
    from apscheduler.triggers.base import BaseTrigger
    from apscheduler.triggers.combining import OrTrigger
    from apscheduler.triggers.cron import CronTrigger

    cron = parse_fields(expr)
    second, minute, hour, day, month, weekday = map(_listed, cron.values, FIELDS)
    # On a DST-free clock these triggers only find the next matching wall-clock time.
    clock = {"second": second, "minute": minute, "hour": hour, "month": month, "timezone": _UTC}
    if cron.either_day:  # APScheduler ANDs day and weekday: OR them as cron does
        days = [CronTrigger(day=day, **clock), CronTrigger(day_of_week=weekday, **clock)]
        matcher = OrTrigger(days)
    else:
        matcher = CronTrigger(day=day, day_of_week=weekday, **clock)
    BaseTrigger.register(WallClockCron)  # an ABC: keeps this module free of APScheduler
    return WallClockCron(matcher, timezone, expr)


def _listed(values: frozenset[int], field: Field) -> str:
    if field.names is WEEKDAYS:  # APScheduler 3 counts from Monday = 0: pass names, not numbers
        return "*" if len(values) == 7 else ",".join(WEEKDAYS[d] for d in sorted(values))
    return "*" if len(values) == field.high - field.low + 1 else ",".join(map(str, sorted(values)))


class WallClockCron:
    """Fires at the wall-clock times `matcher` finds in `timezone`, with one rule per DST change.

    A time skipped by spring-forward fires at the first instant after the gap. A time repeated by
    fall-back fires again only if the schedule also matched one shift earlier: hourly and
    every-minute schedules fire at every real instant, a daily 02:30 fires once.
    """

    __slots__ = ("_expr", "_matcher", "timezone")

    def __init__(self, matcher: Any, timezone: dt.tzinfo, expr: str) -> None:
        self._matcher = matcher
        self.timezone = timezone
        self._expr = expr

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime | None:
        """CronTrigger's contract: the first fire at or after min(now, just after previous)."""
        # In UTC: aware datetimes in a repeated hour never compare equal across zones.
        start = now.astimezone(_UTC)
        if previous_fire_time is not None:
            previous = previous_fire_time.astimezone(_UTC)
            start = previous + _TICK if start == previous else min(start, previous + _TICK)
        fire = self._first_fire(start)
        return None if fire is None else fire.astimezone(self.timezone)

    def _first_fire(self, start: dt.datetime) -> dt.datetime | None:
        # Walk stretches of constant UTC offset: `since` has `offset`, and matches are searched
        # from wall-clock `wall` on; a stretch ends at the first offset change before the match.
        since = start - _TICK
        offset, wall = self._offset(since), self._wall(since) + _TICK
        while (match := self._next_match(wall)) is not None:
            fire = (match - offset).replace(tzinfo=_UTC)
            change = self._first_change(since, fire, offset)
            if change is None:
                if not self._is_dropped_repeat(fire, match):
                    return fire
                since, wall = fire, match + _TICK
            elif self._offset(change) > offset and match < self._wall(change):
                return change  # the clock jumped over `match`: fire as soon as it resumes
            else:
                since, offset, wall = change, self._offset(change), self._wall(change)
        return None

    def _first_change(
        self, since: dt.datetime, until: dt.datetime, offset: dt.timedelta
    ) -> dt.datetime | None:
        """The first instant in (since, until] whose UTC offset is not `offset`."""
        low = since
        while low < until:
            high = min(low + _DAY, until)  # offsets never change twice within a day
            if self._offset(high) != offset:
                while high - low > _TICK:
                    middle = low + (high - low) // 2
                    low, high = (middle, high) if self._offset(middle) == offset else (low, middle)
                return high
            low = high
        return None

    def _is_dropped_repeat(self, fire: dt.datetime, match: dt.datetime) -> bool:
        """A second pass through a fall-back time the schedule did not match one shift earlier."""
        if not fire.astimezone(self.timezone).fold:
            return False
        shift = fire - match.replace(tzinfo=self.timezone).astimezone(_UTC)
        return self._next_match(match - shift) != match - shift

    def _next_match(self, wall: dt.datetime) -> dt.datetime | None:
        found: dt.datetime | None = self._matcher.get_next_fire_time(
            None, wall.replace(tzinfo=_UTC)
        )
        return None if found is None else found.replace(tzinfo=None)

    def _offset(self, instant: dt.datetime) -> dt.timedelta:
        return instant.astimezone(self.timezone).utcoffset() or dt.timedelta()

    def _wall(self, instant: dt.datetime) -> dt.datetime:
        # fold=0: matchers carry fold through, and a wall-clock time here means its first pass.
        return instant.astimezone(self.timezone).replace(tzinfo=None, fold=0)

    def __str__(self) -> str:
        return f"cron[{self._expr}, {self.timezone}]"
