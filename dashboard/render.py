"""Jinja2 with autoescape on for every template: each value from Redis (task names, error
texts, job reasons) is user data and reaches the page escaped."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from worker.state.read import parse_instant

NONE = "\N{EN DASH}"
"""What a page shows for a value that is not there."""


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("dashboard", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ms"] = format_ms
    env.filters["ago"] = ago
    env.filters["dash"] = lambda value: NONE if value in (None, "", []) else value
    return env


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(**context)


def format_ms(value: Any) -> str:
    if value in (None, ""):
        return NONE
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return str(value)
    if abs(number) >= 10_000:
        return f"{number / 1000:.1f} s"
    return f"{number:.1f} ms" if abs(number) < 100 else f"{number:.0f} ms"


def ago(value: Any) -> str:
    """`12 s ago` / `in 3 min` for an ISO instant; NONE for none; other text as it is."""
    if not isinstance(value, str) or not value:
        return NONE
    moment = parse_instant(value)
    if moment is None:
        return value
    seconds = (datetime.now(UTC) - moment).total_seconds()
    if abs(seconds) < 1:
        return "now"
    text = _span(abs(seconds))
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 129_600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
