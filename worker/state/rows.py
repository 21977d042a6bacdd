"""Rows of the read model: a task, a replica, a run, an alert, each as plain JSON-ready data
from what the fleet records (instance records, summaries, claims, streams); shared by
`status` and the dashboard's views."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from worker.state.fleet import PauseEntry, format_instant
from worker.state.read import parse_instant


def task_row(
    name: str,
    catalog: dict[str, Any],
    last: dict[str, Any],
    instances: list[dict[str, Any]],
    paused: PauseEntry | None,
    claim: dict[str, str],
    now: datetime,
    *,
    conflict: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A task as the fleet records it: schedule (from a replica's catalogue), its newest
    deciding run, the next fire any live replica plans, pause state, the run in progress,
    and the live replicas' differing definitions of it (`state.definitions.conflicts`)."""
    planned = [parse_instant((i.get("next_fires") or {}).get(name)) for i in instances]
    upcoming = [when for when in planned if when is not None and when > now]
    # A schedule faster than the heartbeat has passed its recorded next fire by the read.
    passed = max((when for when in planned if when is not None and when <= now), default=None)
    running = [parse_instant((i.get("running") or {}).get(name)) for i in instances]
    since = min((when for when in running if when is not None), default=None)
    until = None if paused is None else paused.until
    is_paused = paused is not None and paused.active(now.timestamp())
    in_progress = claim.get("done") == "0"
    next_fire = min(upcoming, default=None) or passed
    # A pause that ends first lets the next fire run: only one it covers is held back.
    held = is_paused and (until is None or next_fire is None or next_fire.timestamp() < until)
    return {
        "name": name,
        "schedule": catalog.get("schedule"),
        "scope": catalog.get("scope"),
        "timezone": catalog.get("timezone"),
        "disabled": bool(catalog.get("disabled", False)),
        "running_here": bool(catalog),
        "paused": is_paused,
        "paused_until": paused.until_text if is_paused and paused is not None else None,
        "next_fire": iso(next_fire),
        "next_fire_passed": not upcoming and passed is not None,
        "next_fire_paused": held,
        "last_run": last.get("started_at"),
        "scheduled_for": last.get("scheduled_for"),
        "outcome": last.get("outcome"),
        "duration_ms": number(last.get("duration_ms")),
        "lag_ms": number(last.get("lag_ms")),
        "consecutive_failures": count(last.get("consecutive_failures")),
        "last_error": last.get("error"),
        "instance": last.get("instance"),
        "recovered": str(last.get("recovered", "")).lower() == "true",
        "running_since": iso(since),
        "claimed_by": claim.get("owner") if in_progress else None,
        "definition_conflict": conflict,
    }


def replica_row(record: dict[str, Any]) -> dict[str, Any]:
    """A replica's row from its record as `FleetReader` shapes it (roles a list of text,
    running and tasks objects)."""
    return {
        "id": record.get("id"),
        "host": record.get("host"),
        "pid": record.get("pid"),
        "version": record.get("version"),
        "roles": record["roles"],
        "started_at": record.get("started_at"),
        "last_seen": record.get("last_seen"),
        "rss_mb": number(record.get("rss_mb")),
        "cpu_percent": number(record.get("cpu_percent")),
        "running": record["running"],
        "tasks": len(record["tasks"]),
        "clock_offset_ms": number(record.get("clock_offset_ms")),
        "clock": record.get("clock"),
        "duplicated": record["duplicated"],
        "duplicated_with": record["duplicated_with"],
    }


def run_row(entry: dict[str, str]) -> dict[str, Any]:
    return {
        "fire_id": entry.get("fire_id"),
        "scheduled_for": entry.get("scheduled_for") or None,
        "started_at": entry.get("started_at") or None,
        "outcome": entry.get("outcome"),
        "duration_ms": number(entry.get("duration_ms")),
        "lag_ms": number(entry.get("lag_ms")),
        "missed": count(entry.get("missed")),
        "recovered": entry.get("recovered", "").lower() == "true",
        "instance": entry.get("instance") or None,
        "error": entry.get("error") or None,
        "consecutive_failures": count(entry.get("consecutive_failures")),
    }


def alert_row(entry: dict[str, str]) -> dict[str, Any]:
    try:
        data = dict(json.loads(entry.get("data") or "{}"))
    except (ValueError, TypeError):
        data = {}
    return {
        "task": entry.get("task"),
        "state": entry.get("state"),
        "time": data.get("time"),
        "failures": data.get("failures"),
        "instance": data.get("instance"),
        "error": data.get("last_error"),
        "text": data.get("text"),
    }


def number(text: Any) -> float | None:
    """A finite number, or None (for none, or anything else: a page must not fail, nor its
    JSON hold NaN, over one bad value)."""
    if text is None or text == "" or isinstance(text, bool):
        return None
    try:
        number = float(text)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def count(value: Any) -> int:
    return int(number(value) or 0)


def iso(moment: datetime | None) -> str | None:
    """An instant as records write it (`...Z`, milliseconds only when it has them)."""
    return None if moment is None else format_instant(moment, precise=moment.microsecond != 0)
