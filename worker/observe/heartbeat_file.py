"""The heartbeat file's record: written by the worker, read by `worker health`.

A leaf module (json only): the probe imports it and nothing else of the framework.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STALE_AFTER = 3
"""Heartbeat intervals after which the file (and the instance record) count as dead."""
NUMBERS = ("time", "interval", "redis_down_since", "redis_timeout", "pid", "clock_offset")


def parse_record(text: str) -> dict[str, Any] | None:
    """The JSON record; None when it is not one (or a figure in it is not a number)."""
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    for key in NUMBERS:
        value = record.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return None
    return record


def read_heartbeat(path: Path) -> dict[str, Any] | None:
    """The file's record, or None when there is none (or it is unreadable)."""
    try:
        return parse_record(path.read_text())
    except (OSError, ValueError):  # a file of another program's, not UTF-8 text
        return None
