"""A time zone's UTC offset changes, found once per zone and year and then looked up.

Instants here are naive datetimes in UTC: comparing and shifting them is cheaper than aware
ones, and the cron evaluator does both on every call. zoneinfo does not publish its
transitions, so a year is sampled daily (offsets never change twice within a day) and each
change is pinned to the second by bisection: about 400 offset look-ups, once per zone-year.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from functools import lru_cache
from typing import NamedTuple

_UTC = dt.UTC
_DAY = dt.timedelta(days=1)
_SECOND = dt.timedelta(seconds=1)


class Change(NamedTuple):
    """At `at` (UTC) the offset goes from `before` to `after`."""

    at: dt.datetime
    before: dt.timedelta
    after: dt.timedelta


class _Year(NamedTuple):
    first: dt.timedelta  # the offset at the year's first instant
    instants: tuple[dt.datetime, ...]  # changes in (1 January, next 1 January], sorted
    changes: tuple[Change, ...]


def offset_at(zone: dt.tzinfo, instant: dt.datetime) -> dt.timedelta:
    """The UTC offset `zone` has at the (naive UTC) `instant`."""
    return instant.replace(tzinfo=_UTC).astimezone(zone).utcoffset() or dt.timedelta()


def stretch(zone: dt.tzinfo, instant: dt.datetime) -> tuple[dt.timedelta, Change | None]:
    """The offset at `instant` and the last change at or before it (back to last year)."""
    year = _year(zone, instant.year)
    i = bisect_right(year.instants, instant)
    if i:
        change = year.changes[i - 1]
        return change.after, change
    if instant.year == dt.MINYEAR:
        return year.first, None
    earlier = _year(zone, instant.year - 1)
    return year.first, (earlier.changes[-1] if earlier.changes else None)


def next_change(zone: dt.tzinfo, after: dt.datetime, until: dt.datetime) -> Change | None:
    """The first change in (after, until], or None: one table look-up per year spanned."""
    for year_number in range(after.year, min(until.year, dt.MAXYEAR - 1) + 1):
        year = _year(zone, year_number)
        i = bisect_right(year.instants, after)
        if i < len(year.instants):
            change = year.changes[i]
            return change if change.at <= until else None
    return None


@lru_cache(maxsize=4096)
def _year(zone: dt.tzinfo, year: int) -> _Year:
    begin = dt.datetime(year, 1, 1)
    first = offset_at(zone, begin)
    if isinstance(zone, dt.timezone) or year >= dt.MAXYEAR:  # a fixed offset never changes
        return _Year(first, (), ())
    changes: list[Change] = []
    low, low_offset, end = begin, first, dt.datetime(year + 1, 1, 1)
    while low < end:
        high = min(low + _DAY, end)
        if offset_at(zone, high) == low_offset:
            low = high
            continue
        at = _pin(zone, low, high, low_offset)
        changes.append(Change(at, low_offset, offset_at(zone, at)))
        low, low_offset = at, changes[-1].after
    return _Year(first, tuple(c.at for c in changes), tuple(changes))


def _pin(zone: dt.tzinfo, low: dt.datetime, high: dt.datetime, offset: dt.timedelta) -> dt.datetime:
    """The first whole second in (low, high] whose offset is not `offset` (low has it)."""
    while high - low > _SECOND:
        middle = low + (high - low) // 2
        middle = middle.replace(microsecond=0)
        low, high = (middle, high) if offset_at(zone, middle) == offset else (low, middle)
    return high
