"""Schedules as users write them (cron, durations) and the APScheduler triggers that run them.

Cron has its standard (Vixie) meaning, not APScheduler 3's: Sunday is 0 or 7, a restricted
day-of-month OR a restricted day-of-week fires, and times are wall-clock times in the worker's
timezone with each DST change handled once. Importing this module does not import APScheduler.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias

from worker.durations import format_duration, is_duration, parse_duration

_UTC = dt.UTC
_TICK = dt.timedelta(microseconds=1)
_DAY = dt.timedelta(days=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)


class CronExpression:
    """NestJS's `CronExpression` presets, same names and values."""

    EVERY_SECOND = "* * * * * *"
    EVERY_5_SECONDS = "*/5 * * * * *"
    EVERY_10_SECONDS = "*/10 * * * * *"
    EVERY_30_SECONDS = "*/30 * * * * *"
    EVERY_MINUTE = "*/1 * * * *"
    EVERY_5_MINUTES = "0 */5 * * * *"
    EVERY_10_MINUTES = "0 */10 * * * *"
    EVERY_15_MINUTES = "0 */15 * * * *"
    EVERY_30_MINUTES = "0 */30 * * * *"
    EVERY_HOUR = "0 0-23/1 * * *"
    EVERY_2_HOURS = "0 0-23/2 * * *"
    EVERY_3_HOURS = "0 0-23/3 * * *"
    EVERY_4_HOURS = "0 0-23/4 * * *"
    EVERY_5_HOURS = "0 0-23/5 * * *"
    EVERY_6_HOURS = "0 0-23/6 * * *"
    EVERY_7_HOURS = "0 0-23/7 * * *"
    EVERY_8_HOURS = "0 0-23/8 * * *"
    EVERY_9_HOURS = "0 0-23/9 * * *"
    EVERY_10_HOURS = "0 0-23/10 * * *"
    EVERY_11_HOURS = "0 0-23/11 * * *"
    EVERY_12_HOURS = "0 0-23/12 * * *"
    EVERY_DAY_AT_1AM = "0 01 * * *"
    EVERY_DAY_AT_2AM = "0 02 * * *"
    EVERY_DAY_AT_3AM = "0 03 * * *"
    EVERY_DAY_AT_4AM = "0 04 * * *"
    EVERY_DAY_AT_5AM = "0 05 * * *"
    EVERY_DAY_AT_6AM = "0 06 * * *"
    EVERY_DAY_AT_7AM = "0 07 * * *"
    EVERY_DAY_AT_8AM = "0 08 * * *"
    EVERY_DAY_AT_9AM = "0 09 * * *"
    EVERY_DAY_AT_10AM = "0 10 * * *"
    EVERY_DAY_AT_11AM = "0 11 * * *"
    EVERY_DAY_AT_NOON = "0 12 * * *"
    EVERY_DAY_AT_1PM = "0 13 * * *"
    EVERY_DAY_AT_2PM = "0 14 * * *"
    EVERY_DAY_AT_3PM = "0 15 * * *"
    EVERY_DAY_AT_4PM = "0 16 * * *"
    EVERY_DAY_AT_5PM = "0 17 * * *"
    EVERY_DAY_AT_6PM = "0 18 * * *"
    EVERY_DAY_AT_7PM = "0 19 * * *"
    EVERY_DAY_AT_8PM = "0 20 * * *"
    EVERY_DAY_AT_9PM = "0 21 * * *"
    EVERY_DAY_AT_10PM = "0 22 * * *"
    EVERY_DAY_AT_11PM = "0 23 * * *"
    EVERY_DAY_AT_MIDNIGHT = "0 0 * * *"
    EVERY_WEEK = "0 0 * * 0"
    EVERY_WEEKDAY = "0 0 * * 1-5"
    EVERY_WEEKEND = "0 0 * * 6,0"
    EVERY_1ST_DAY_OF_MONTH_AT_MIDNIGHT = "0 0 1 * *"
    EVERY_1ST_DAY_OF_MONTH_AT_NOON = "0 12 1 * *"
    EVERY_2ND_HOUR = "0 */2 * * *"
    EVERY_2ND_HOUR_FROM_1AM_THROUGH_11PM = "0 1-23/2 * * *"
    EVERY_2ND_MONTH = "0 0 1 */2 *"
    EVERY_QUARTER = "0 0 1 */3 *"
    EVERY_6_MONTHS = "0 0 1 */6 *"
    EVERY_YEAR = "0 0 1 1 *"
    EVERY_30_MINUTES_BETWEEN_9AM_AND_5PM = "0 */30 9-17 * * *"
    EVERY_30_MINUTES_BETWEEN_9AM_AND_6PM = "0 */30 9-18 * * *"
    EVERY_30_MINUTES_BETWEEN_10AM_AND_7PM = "0 */30 10-19 * * *"
    MONDAY_TO_FRIDAY_AT_1AM = "0 0 01 * * 1-5"
    MONDAY_TO_FRIDAY_AT_2AM = "0 0 02 * * 1-5"
    MONDAY_TO_FRIDAY_AT_3AM = "0 0 03 * * 1-5"
    MONDAY_TO_FRIDAY_AT_4AM = "0 0 04 * * 1-5"
    MONDAY_TO_FRIDAY_AT_5AM = "0 0 05 * * 1-5"
    MONDAY_TO_FRIDAY_AT_6AM = "0 0 06 * * 1-5"
    MONDAY_TO_FRIDAY_AT_7AM = "0 0 07 * * 1-5"
    MONDAY_TO_FRIDAY_AT_8AM = "0 0 08 * * 1-5"
    MONDAY_TO_FRIDAY_AT_9AM = "0 0 09 * * 1-5"
    MONDAY_TO_FRIDAY_AT_09_30AM = "0 30 09 * * 1-5"
    MONDAY_TO_FRIDAY_AT_10AM = "0 0 10 * * 1-5"
    MONDAY_TO_FRIDAY_AT_11AM = "0 0 11 * * 1-5"
    MONDAY_TO_FRIDAY_AT_11_30AM = "0 30 11 * * 1-5"
    MONDAY_TO_FRIDAY_AT_12PM = "0 0 12 * * 1-5"
    MONDAY_TO_FRIDAY_AT_1PM = "0 0 13 * * 1-5"
    MONDAY_TO_FRIDAY_AT_2PM = "0 0 14 * * 1-5"
    MONDAY_TO_FRIDAY_AT_3PM = "0 0 15 * * 1-5"
    MONDAY_TO_FRIDAY_AT_4PM = "0 0 16 * * 1-5"
    MONDAY_TO_FRIDAY_AT_5PM = "0 0 17 * * 1-5"
    MONDAY_TO_FRIDAY_AT_6PM = "0 0 18 * * 1-5"
    MONDAY_TO_FRIDAY_AT_7PM = "0 0 19 * * 1-5"
    MONDAY_TO_FRIDAY_AT_8PM = "0 0 20 * * 1-5"
    MONDAY_TO_FRIDAY_AT_9PM = "0 0 21 * * 1-5"
    MONDAY_TO_FRIDAY_AT_10PM = "0 0 22 * * 1-5"
    MONDAY_TO_FRIDAY_AT_11PM = "0 0 23 * * 1-5"


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A valid cron expression (5 or 6 fields, or a macro), kept as the user wrote it."""

    expr: str

    def __post_init__(self) -> None:
        _parse_fields(self.expr)


@dataclass(frozen=True, slots=True)
class IntervalSchedule:
    """Fires every `seconds` (at least a microsecond, the clock's resolution)."""

    seconds: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.seconds) and self.seconds >= 1e-6):
            raise ValueError(f"interval must be greater than 0, got {self.seconds}s")


@dataclass(frozen=True, slots=True)
class OnceSchedule:
    """Fires once, `after` seconds after start-up."""

    after: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.after) and self.after >= 0):
            raise ValueError(f"delay must be a finite number of seconds >= 0, got {self.after}")


Schedule: TypeAlias = CronSchedule | IntervalSchedule | OnceSchedule


class _Field(NamedTuple):
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] spells the value low + i


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = (
    _Field("second", 0, 59),
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 0, 7, _WEEKDAYS),
)
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


class _Cron(NamedTuple):
    values: tuple[frozenset[int], ...]  # second, minute, hour, day, month, weekday (Sunday = 0)
    either_day: bool  # both day fields restricted: a day matching either one fires


def parse_cron(expr: str) -> CronSchedule:
    """Validate a cron expression; ValueError names the bad field and why, in one line."""
    return CronSchedule(" ".join(expr.split()))


def parse_schedule(text: str) -> Schedule:
    """A SCHEDULE_<TASK> value: a duration means an interval, anything else must be cron."""
    if is_duration(text):
        seconds = parse_duration(text)
        if seconds <= 0:
            raise ValueError(f"interval {text.strip()!r} must be greater than 0")
        return IntervalSchedule(seconds)
    return parse_cron(text)


def _parse_fields(expr: str) -> _Cron:
    texts = expr.split()
    if not texts:
        raise ValueError("empty cron expression")
    if len(texts) == 1 and texts[0].startswith("@"):
        if texts[0].lower() not in _MACROS:
            raise ValueError(f"unknown macro {texts[0]!r} (known: {', '.join(_MACROS)})")
        texts = _MACROS[texts[0].lower()].split()
    if len(texts) not in (5, 6):
        raise ValueError(f"expected 5 or 6 fields or a macro, got {len(texts)}")
    if len(texts) == 5:
        texts.insert(0, "0")
    values = [_parse_field(field, text) for field, text in zip(_FIELDS, texts, strict=True)]
    values[5] = frozenset(day % 7 for day in values[5])  # 7 is Sunday too
    # Vixie cron: a day field written `*...` does not restrict, and leaves the other in charge.
    either_day = not texts[3].startswith("*") and not texts[5].startswith("*")
    if not either_day and not any(min(values[3]) <= _MONTH_DAYS[m - 1] for m in values[4]):
        raise ValueError(f"day-of-month field {texts[3]!r} never occurs in months {texts[4]!r}")
    return _Cron(tuple(values), either_day)


def _parse_field(field: _Field, text: str) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        if slash and not (step_text.isascii() and step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"{field.name} field {item!r}: step must be a whole number >= 1")
        step = int(step_text) if slash else 1
        if base == "*":
            low, high = field.low, field.high
        else:
            first, dash, last = base.partition("-")
            low = _parse_value(field, first)
            high = _parse_value(field, last) if dash else (field.high if slash else low)
            if low > high:
                raise ValueError(f"{field.name} field {item!r}: range {low}-{high} is backwards")
        values.update(range(low, high + 1, step))
    return frozenset(values)


def _parse_value(field: _Field, token: str) -> int:
    if token.isascii() and token.isdigit():
        value = int(token)
    elif token.lower() in field.names:
        value = field.low + field.names.index(token.lower())
    else:
        kind = "a number or name" if field.names else "a number"
        raise ValueError(f"{field.name} field {token!r} is not {kind}")
    if not field.low <= value <= field.high:
        raise ValueError(f"{field.name} field {token!r} out of range {field.low}-{field.high}")
    return value


def build_trigger(
    schedule: Schedule, *, timezone: dt.tzinfo, aligned: bool, now: dt.datetime
) -> Any:
    """An APScheduler trigger for `schedule`; `now` (aware) anchors intervals and one-shots."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    match schedule:
        case CronSchedule(expr):
            return _cron_trigger(expr, timezone)
        case IntervalSchedule(seconds):
            return _interval_trigger(seconds, timezone, aligned=aligned, now=now)
        case OnceSchedule(after):
            from apscheduler.triggers.date import DateTrigger

            return DateTrigger(run_date=now + dt.timedelta(seconds=after), timezone=timezone)


def next_fire(
    schedule: Schedule, *, timezone: dt.tzinfo, aligned: bool, now: dt.datetime
) -> dt.datetime | None:
    """The first fire at or after `now`, in UTC; None when the schedule has no more."""
    trigger = build_trigger(schedule, timezone=timezone, aligned=aligned, now=now)
    fire: dt.datetime | None = trigger.get_next_fire_time(None, now)
    return None if fire is None else fire.astimezone(_UTC)


def describe(schedule: Schedule) -> str:
    """How listings show a schedule: the cron text, `every 30s` or `once after 5s`."""
    match schedule:
        case CronSchedule(expr):
            return expr
        case IntervalSchedule(seconds):
            return f"every {format_duration(seconds)}"
        case OnceSchedule(after):
            return f"once after {format_duration(after)}"


def is_subsecond(schedule: Schedule) -> bool:
    """True when fire instants can carry fractions of a second (interval or delay not whole)."""
    match schedule:
        case IntervalSchedule(seconds):
            return not float(seconds).is_integer()
        case OnceSchedule(after):
            return not float(after).is_integer()
    return False


def _interval_trigger(
    seconds: float, timezone: dt.tzinfo, *, aligned: bool, now: dt.datetime
) -> Any:
    from apscheduler.triggers.interval import IntervalTrigger

    step = dt.timedelta(seconds=seconds)
    # Aligned: whole multiples of the interval since the epoch, the same on every replica.
    first = _EPOCH + step * ((now - _EPOCH) // step + 1) if aligned else now + step
    return IntervalTrigger(seconds=seconds, start_date=first, timezone=timezone)


def _cron_trigger(expr: str, timezone: dt.tzinfo) -> Any:
    from apscheduler.triggers.base import BaseTrigger
    from apscheduler.triggers.combining import OrTrigger
    from apscheduler.triggers.cron import CronTrigger

    cron = _parse_fields(expr)
    second, minute, hour, day, month, weekday = map(_listed, cron.values, _FIELDS)
    # On a DST-free clock these triggers only find the next matching wall-clock time.
    clock = {"second": second, "minute": minute, "hour": hour, "month": month, "timezone": _UTC}
    if cron.either_day:  # APScheduler ANDs day and weekday: OR them as cron does
        days = [CronTrigger(day=day, **clock), CronTrigger(day_of_week=weekday, **clock)]
        matcher = OrTrigger(days)
    else:
        matcher = CronTrigger(day=day, day_of_week=weekday, **clock)
    BaseTrigger.register(_WallClockCronTrigger)  # an ABC: keeps this module free of APScheduler
    return _WallClockCronTrigger(matcher, timezone, expr)


def _listed(values: frozenset[int], field: _Field) -> str:
    if field.names is _WEEKDAYS:  # APScheduler 3 counts from Monday = 0: pass names, not numbers
        return "*" if len(values) == 7 else ",".join(_WEEKDAYS[d] for d in sorted(values))
    return "*" if len(values) == field.high - field.low + 1 else ",".join(map(str, sorted(values)))


class _WallClockCronTrigger:
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
