"""Durations as users write them: seconds as a number, or `500ms`, `30s`, `15m`, `1h`."""

from __future__ import annotations

import math
import re

from worker.errors import quoted

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
MAX_SECONDS = 366 * 86400.0  # longer is a typo, and overflows date arithmetic further on


def parse_duration(value: str | float | int) -> float:
    """Return the duration in seconds; raise ValueError naming the accepted forms."""
    if isinstance(value, bool):
        raise ValueError("not a duration (expected seconds or Nms/Ns/Nm/Nh)")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(
                f"{quoted(value)} is not a duration (expected seconds or Nms/Ns/Nm/Nh)"
            )
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{quoted(value)} is not a duration (must be a finite number >= 0)")
    if seconds > MAX_SECONDS:
        raise ValueError(f"{quoted(value)} is too long (at most 366 days)")
    return seconds


def is_duration(value: str) -> bool:
    """True when the text reads as a duration rather than a cron expression."""
    return _DURATION.match(value) is not None


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of a duration: `500ms`, `30s`, `15m`, `1h`."""
    if seconds == 0:
        return "0s"
    for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        count = seconds / size
        if count >= 1 and count == int(count):
            return f"{int(count)}{unit}"
    millis = seconds * 1000
    if millis == int(millis):
        return f"{int(millis)}ms"
    return f"{seconds:g}s"


def duration_setting(value: object, *, positive: bool) -> float:
    """Seconds from a number or `500ms/30s/15m/1h`; a sign error says which bound applies."""
    bound = "must be > 0" if positive else "must be >= 0"
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str | int | float):
        raise ValueError("not a duration (expected seconds or Nms/Ns/Nm/Nh)")
    negative = text.startswith("-") and is_duration(text[1:]) if isinstance(text, str) else text < 0
    if negative or (positive and parse_duration(text) == 0):
        raise ValueError(bound)
    return parse_duration(text)
