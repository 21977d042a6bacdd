"""The next wall-clock time a cron expression matches, with no time zone in sight.

Each field becomes a lookup table "the first allowed value at or after i", so finding the
next match is a handful of index operations per call rather than a scan over minutes: the
DST rule (worker.schedule.vixie) asks this several times per fire and must stay cheap.
"""

from __future__ import annotations

import datetime as dt

from worker.schedule.cron import FIELDS, Field, parse_fields

_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_YEARS_AHEAD = 100  # a 29 February on a given weekday recurs within 40 years
_NONE = -1


def _ceiling(values: frozenset[int], field: Field) -> tuple[int, ...]:
    """table[i]: the smallest value >= i in `values`, or -1; one slot past the top is -1."""
    table = [_NONE] * (field.high + 2)
    following = _NONE
    for i in range(field.high, -1, -1):
        if i in values:
            following = i
        table[i] = following
    return tuple(table)


def _days_in(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_DAYS[month - 1]


class WallClock:
    """Matches naive wall-clock times (second resolution) against one cron expression."""

    __slots__ = ("_days", "_either", "_hours", "_minutes", "_months", "_seconds", "_to_weekday")

    def __init__(self, expr: str) -> None:
        cron = parse_fields(expr)
        second, minute, hour, day, month, weekday = cron.values
        self._seconds = _ceiling(second, FIELDS[0])
        self._minutes = _ceiling(minute, FIELDS[1])
        self._hours = _ceiling(hour, FIELDS[2])
        self._days = _ceiling(day, FIELDS[3])
        self._months = _ceiling(month, FIELDS[4])
        self._either = cron.either_day
        # Days from weekday w (Sunday = 0) to the next allowed weekday; 7 when none is allowed.
        self._to_weekday = tuple(
            next((n for n in range(7) if (w + n) % 7 in weekday), 7) for w in range(7)
        )

    def next_match(self, wall: dt.datetime) -> dt.datetime | None:
        """The first matching wall time at or after `wall` (whole seconds); None past a century."""
        year, month, day = wall.year, wall.month, wall.day
        hour, minute, second = wall.hour, wall.minute, wall.second
        last_year = min(year + _YEARS_AHEAD, dt.MAXYEAR)
        while year <= last_year:
            allowed = self._months[month]
            if allowed == _NONE:
                year, month, day, hour, minute, second = year + 1, 1, 1, 0, 0, 0
                continue
            if allowed != month:
                month, day, hour, minute, second = allowed, 1, 0, 0, 0
            found = self._day(year, month, day)
            if found == _NONE:
                month, day, hour, minute, second = month + 1, 1, 0, 0, 0
                continue
            if found != day:
                day, hour, minute, second = found, 0, 0, 0
            clock = self._time(hour, minute, second)
            if clock is None:
                day, hour, minute, second = day + 1, 0, 0, 0
                continue
            return dt.datetime(year, month, day, *clock)
        return None

    def _day(self, year: int, month: int, day: int) -> int:
        """The first day >= `day` of the month that matches, or -1."""
        last = _days_in(year, month)
        if day > last:
            return _NONE
        by_date = self._days[day]
        weekday = dt.date(year, month, day).toordinal() % 7  # Sunday = 0
        by_weekday = day + self._to_weekday[weekday]
        if self._either:  # Vixie: both day fields restricted, either one matching fires
            found = by_weekday if by_date == _NONE else min(by_date, by_weekday)
            return found if found <= last else _NONE
        while by_date != _NONE and by_date <= last:  # both must match: leapfrog the two
            step = self._to_weekday[(weekday + by_date - day) % 7]
            if step == 0:
                return by_date
            if by_date + step > 31:
                return _NONE
            by_date = self._days[by_date + step]
        return _NONE

    def _time(self, hour: int, minute: int, second: int) -> tuple[int, int, int] | None:
        """The first matching (hour, minute, second) at or after the given one that day."""
        found = self._hours[hour]
        if found != hour:
            return None if found == _NONE else (found, self._minutes[0], self._seconds[0])
        at = self._minutes[minute]
        if at == minute:
            at_second = self._seconds[second]
            if at_second != _NONE:
                return hour, minute, at_second
            at = self._minutes[minute + 1]
        if at != _NONE:
            return hour, at, self._seconds[0]
        found = self._hours[hour + 1]
        return None if found == _NONE else (found, self._minutes[0], self._seconds[0])
