"""Page-sized reads for a reader without the application (the dashboard): what the fleet
records about itself, assembled per view.

Every view costs a fixed number of Redis commands whatever the history's length: a task's
runs come from its own capped stream (XREVRANGE with COUNT), the alerts from theirs; what
each replica runs (tasks, queues, targets) from its instance record (`describe_app`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from worker.state.fleet import PauseEntry, format_instant
from worker.state.read import FleetReader, parse_instant
from worker.state.target_status import merge_lanes

RUNS_SHOWN = 50
"""A task's page lists this many of its newest runs."""
CHART_RUNS = 200
"""Its lag chart plots this many (the same single read)."""
ALERTS_SHOWN = 100


class FleetViews:
    """One method per page; each returns plain JSON-ready data."""

    def __init__(
        self, reader: FleetReader, *, queue_prefix: str, targets: Sequence[str] = ()
    ) -> None:
        self._reader = reader
        self._queue_prefix = queue_prefix
        self._targets = tuple(targets)

    async def fleet(self) -> dict[str, Any]:
        """The live replicas: host, pid, version, roles, RSS, CPU, last seen, started."""
        replicas = await self._reader.replicas()
        return {"replicas": [_replica(r) for r in replicas]}

    async def tasks(self) -> dict[str, Any]:
        """Every task any live replica runs (or that has a recorded run), one row each."""
        state = await self._reader.fleet_state()
        catalog = _catalog(state.replicas)
        names = sorted({*catalog, *state.summaries})
        claims = await self._reader.claims(names)
        now = datetime.now(UTC)
        rows = [
            task_row(
                name,
                catalog.get(name, {}),
                state.summaries.get(name, {}),
                state.replicas,
                state.paused.get(name),
                claims.get(name, {}),
                now,
            )
            for name in names
        ]
        return {"tasks": rows}

    async def task(self, name: str) -> dict[str, Any] | None:
        """One task: its row, its newest runs and the lag over its last CHART_RUNS runs;
        None when nothing is known of it."""
        state = await self._reader.task_state(name, CHART_RUNS)
        # Each replica writes its records in batches: the stream's order is not the runs'.
        runs = sorted(state.runs, key=_started, reverse=True)
        catalog = _catalog(state.replicas).get(name)
        if catalog is None and state.summary is None and not runs:
            return None
        now = datetime.now(UTC)
        row = task_row(
            name, catalog or {}, state.summary or {}, state.replicas, state.paused, state.claim, now
        )
        return {
            "task": row,
            "runs": [_run(entry) for entry in runs[:RUNS_SHOWN]],
            "lag": [
                {"at": entry.get("scheduled_for") or entry.get("started_at"), "lag_ms": lag}
                for entry in reversed(runs)
                if (lag := _number(entry.get("lag_ms"))) is not None
                and entry.get("outcome") not in ("missed", "skipped")
            ],
        }

    async def targets(self) -> dict[str, Any]:
        """Per trigger target: last delivered fire, pending fires, failing since."""
        instances = await self._reader.replicas()
        named = [t for i in instances for t in i.get("targets") or ()]
        names = list(dict.fromkeys([*self._targets, *named]))
        lanes = await self._reader.target_lanes(names)
        live = {str(i.get("id")) for i in instances}
        return {"targets": merge_lanes(names, lanes, live)}

    async def queues(self) -> dict[str, Any]:
        """Each queue the replicas process: counts by state and the last failed jobs."""
        instances = await self._reader.replicas()
        found: dict[str, str] = {}
        for instance in instances:
            prefix = instance.get("queue_prefix") or self._queue_prefix
            for queue in instance.get("queues") or ():
                found.setdefault(queue, prefix)
        report: list[dict[str, Any]] = []
        for queue, prefix in sorted(found.items()):
            report += await self._reader.queues(prefix, [queue])
        return {"queues": report}

    async def alerts(self, count: int = ALERTS_SHOWN) -> dict[str, Any]:
        """The newest alert events, newest first."""
        return {"alerts": [_alert(entry) for entry in await self._reader.alerts(count)]}


def task_row(
    name: str,
    catalog: dict[str, Any],
    last: dict[str, Any],
    instances: list[dict[str, Any]],
    paused: PauseEntry | None,
    claim: dict[str, str],
    now: datetime,
) -> dict[str, Any]:
    """A task as the fleet records it: schedule (from a replica's catalogue), its newest
    deciding run, the next fire any live replica plans, pause state, the run in progress."""
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
        "duration_ms": _number(last.get("duration_ms")),
        "lag_ms": _number(last.get("lag_ms")),
        "consecutive_failures": _count(last.get("consecutive_failures")),
        "last_error": last.get("error"),
        "instance": last.get("instance"),
        "recovered": str(last.get("recovered", "")).lower() == "true",
        "running_since": iso(since),
        "claimed_by": claim.get("owner") if in_progress else None,
    }


def _catalog(instances: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What the live replicas run: their tasks, and their queues' jobs (runs of the task
    `queue:<name>`, which has no schedule)."""
    found: dict[str, dict[str, Any]] = {}
    for instance in instances:
        for name, entry in (instance.get("tasks") or {}).items():
            found.setdefault(name, entry)
        for queue in instance.get("queues") or ():
            found.setdefault(f"queue:{queue}", {"scope": "queue"})
    return found


def _started(entry: dict[str, str]) -> float:
    moment = parse_instant(entry.get("started_at"))
    return moment.timestamp() if moment is not None else 0.0


def _replica(record: dict[str, Any]) -> dict[str, Any]:
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
        "rss_mb": _number(record.get("rss_mb")),
        "cpu_percent": _number(record.get("cpu_percent")),
        "running": record["running"],
        "tasks": len(record["tasks"]),
    }


def _run(entry: dict[str, str]) -> dict[str, Any]:
    return {
        "fire_id": entry.get("fire_id"),
        "scheduled_for": entry.get("scheduled_for") or None,
        "started_at": entry.get("started_at") or None,
        "outcome": entry.get("outcome"),
        "duration_ms": _number(entry.get("duration_ms")),
        "lag_ms": _number(entry.get("lag_ms")),
        "missed": _count(entry.get("missed")),
        "recovered": entry.get("recovered", "").lower() == "true",
        "instance": entry.get("instance") or None,
        "error": entry.get("error") or None,
        "consecutive_failures": _count(entry.get("consecutive_failures")),
    }


def _alert(entry: dict[str, str]) -> dict[str, Any]:
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


def _number(text: Any) -> float | None:
    """A finite number, or None (for none, or anything else: a page must not fail, nor its
    JSON hold NaN, over one bad value)."""
    if text is None or text == "" or isinstance(text, bool):
        return None
    try:
        number = float(text)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _count(value: Any) -> int:
    return int(_number(value) or 0)


def iso(moment: datetime | None) -> str | None:
    """An instant as records write it (`...Z`, milliseconds only when it has them)."""
    return None if moment is None else format_instant(moment, precise=moment.microsecond != 0)
