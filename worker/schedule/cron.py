"""Schedules as users write them: cron (5/6 fields or a macro), intervals and one-shots.

Cron has its standard (Vixie) meaning, not APScheduler 3's: Sunday is 0 or 7, and a
restricted day-of-month OR a restricted day-of-week fires. Nothing here imports APScheduler.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias

from worker.errors import quoted
from worker.settings.durations import format_duration, is_duration, parse_duration


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A valid cron expression (5 or 6 fields, or a macro), kept as the user wrote it."""

    expr: str

    def __post_init__(self) -> None:
        parse_fields(self.expr)


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


class Field(NamedTuple):
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] spells the value low + i


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
FIELDS = (
    Field("second", 0, 59),
    Field("minute", 0, 59),
    Field("hour", 0, 23),
    Field("day-of-month", 1, 31),
    Field("month", 1, 12, _MONTHS),
    Field("day-of-week", 0, 7, WEEKDAYS),
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
    wildcard: bool  # seconds, minute or hour written `*...`: Vixie's DST rule for such jobs


def parse_cron(expr: str) -> CronSchedule:
    """Validate a cron expression; ValueError names the bad field and why, in one line."""
    return CronSchedule(" ".join(expr.split()))


def parse_schedule(text: str) -> Schedule:
    """A SCHEDULE_<TASK> value: a duration means an interval, anything else must be cron."""
    if is_duration(text):
        seconds = parse_duration(text)
        if seconds <= 0:
            raise ValueError(f"interval {quoted(text.strip())} must be greater than 0")
        return IntervalSchedule(seconds)
    return parse_cron(text)


def parse_fields(expr: str) -> _Cron:
    texts = expr.split()
    if not texts:
        raise ValueError("empty cron expression")
    if len(texts) == 1 and texts[0].startswith("@"):
        if texts[0].lower() not in _MACROS:
            raise ValueError(f"unknown macro {quoted(texts[0])} (known: {', '.join(_MACROS)})")
        texts = _MACROS[texts[0].lower()].split()
    if len(texts) not in (5, 6):
        raise ValueError(f"expected 5 or 6 fields or a macro, got {len(texts)}")
    if len(texts) == 5:
        texts.insert(0, "0")
    values = [_parse_field(field, text) for field, text in zip(FIELDS, texts, strict=True)]
    values[5] = frozenset(day % 7 for day in values[5])  # 7 is Sunday too
    # Vixie cron: a day field written `*...` does not restrict, and leaves the other in charge.
    either_day = not texts[3].startswith("*") and not texts[5].startswith("*")
    if not either_day and not any(min(values[3]) <= _MONTH_DAYS[m - 1] for m in values[4]):
        raise ValueError(
            f"day-of-month field {quoted(texts[3])} never occurs in months {quoted(texts[4])}"
        )
    # Debian's cron.c tells DST handling apart by syntax (MIN_STAR, HR_STAR), not by values.
    wildcard = any(text.startswith("*") for text in texts[:3])
    return _Cron(tuple(values), either_day, wildcard)


def _parse_field(field: Field, text: str) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        if slash and not (step_text.isascii() and step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"{field.name} field {quoted(item)}: step must be a whole number >= 1")
        step = int(step_text) if slash else 1
        if base == "*":
            low, high = field.low, field.high
        else:
            first, dash, last = base.partition("-")
            low = _parse_value(field, first)
            high = _parse_value(field, last) if dash else (field.high if slash else low)
            if low > high:
                raise ValueError(
                    f"{field.name} field {quoted(item)}: range {low}-{high} is backwards"
                )
        values.update(range(low, high + 1, step))
    return frozenset(values)


def _parse_value(field: Field, token: str) -> int:
    if token.isascii() and token.isdigit():
        value = int(token)
    elif token.lower() in field.names:
        value = field.low + field.names.index(token.lower())
    else:
        kind = "a number or name" if field.names else "a number"
        raise ValueError(f"{field.name} field {quoted(token)} is not {kind}")
    if not field.low <= value <= field.high:
        raise ValueError(
            f"{field.name} field {quoted(token)} out of range {field.low}-{field.high}"
        )
    return value


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
