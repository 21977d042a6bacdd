"""The read-only commands: `list`, `status`, `check`. Output on stdout, pipeable."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from worker.connect.errors import describe_error
from worker.errors import ConfigError, UnavailableError
from worker.state.rows import iso

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from worker.app.context import ApplicationContext
    from worker.schedule.definitions import TaskDefinition
    from worker.settings.base import WorkerSettings
    from worker.state.fleet import PauseEntry

REACH_TIMEOUT = 3.0
STATUS_FIELDS = (
    *("name", "schedule", "scope", "disabled", "last_run", "scheduled_for", "outcome"),
    *("duration_ms", "lag_ms", "next_fire", "consecutive_failures", "last_error", "instance"),
    *("running_since", "paused", "paused_until", "recovered", "claimed_by"),
    "definition_conflict",
)
"""A task's fields in `status --json`, in order (`counts` follows)."""


def local(moment: datetime | None, zone: tzinfo) -> str | None:
    """An instant on the task's wall clock with its UTC offset, for people reading a table.

    The offset tells the two passes of a repeated hour apart (02:30+02:00, then 02:30+01:00).
    """
    if moment is None:
        return None
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.astimezone(zone).isoformat(sep=" ", timespec=spec)


def list_tasks(app: ApplicationContext, *, as_json: bool) -> int:
    now = datetime.now(UTC)
    fires = [d.next_fire(now) for d in app.definitions]
    if as_json:
        rows = [
            {
                "name": d.name,
                "schedule": d.describe(),
                "scope": d.scope,
                "time_limit": d.time_limit or None,
                "next_fire": iso(fire),
                "disabled": d.disabled,
            }
            for d, fire in zip(app.definitions, fires, strict=True)
        ]
        print(json.dumps(rows, indent=2))
        return 0
    table = [
        [
            d.name,
            d.describe(),
            d.scope,
            _limit(d.time_limit),
            "disabled" if d.disabled else (local(fire, d.timezone) or "-"),
        ]
        for d, fire in zip(app.definitions, fires, strict=True)
    ]
    print(_table(["NAME", "SCHEDULE", "SCOPE", "TIME LIMIT", "NEXT FIRE"], table))
    return 0


async def status(app: ApplicationContext, *, as_json: bool) -> int:
    from worker.cli.queue_status import read_queues
    from worker.cli.targets import target_status, targets_text
    from worker.state.keys import Keys
    from worker.state.read import FleetReader

    settings = app.settings
    client = await reach_redis(settings)
    reader = FleetReader(client, Keys(settings.key_prefix))
    names = [d.name for d in app.definitions]
    try:
        async with asyncio.timeout(REACH_TIMEOUT * 2):
            instances = await reader.replicas(scan=True)  # replicas of older versions too
            summaries = await reader.summaries()
            fleet = (await reader.paused(), await reader.claims(names))
            counts = await reader.outcome_counts(names)
            queues = await read_queues(app, reader)
            targets = await target_status(reader, settings, instances)
    except Exception as exc:
        raise UnavailableError(f"REDIS_URL: status read failed: {describe_error(exc)}") from None
    finally:
        await client.aclose()
    from worker.state.definitions import conflicts

    now = datetime.now(UTC)
    differ = conflicts(instances)
    tasks = [
        _task_status(d, summaries.get(d.name, {}), instances, fleet, now, differ.get(d.name))
        for d in app.definitions
    ]
    for task in tasks:
        task["counts"] = counts.get(task["name"], {})
    report = {"instances": instances, "tasks": tasks, "targets": targets, "queues": queues}
    zones = [d.timezone for d in app.definitions]
    text = "" if as_json else f"{_status_text(report, zones)}\n\n{targets_text(targets)}"
    print(json.dumps(report, indent=2) if as_json else text)
    return 0


def _task_status(
    d: TaskDefinition,
    last: dict[str, Any],
    instances: list[dict[str, Any]],
    fleet: tuple[dict[str, PauseEntry], dict[str, dict[str, str]]],
    now: datetime,
    conflict: dict[str, Any] | None,
) -> dict[str, Any]:
    """The dashboard's task row (`state.rows.task_row`) with what only the definition knows:
    with no live record of a next fire, the schedule's own (none when no replica is alive)."""
    from worker.state.rows import task_row

    running = [i["tasks"][d.name] for i in instances if d.name in (i.get("tasks") or {})]
    own = {"schedule": d.describe(), "scope": d.scope, "disabled": d.disabled}
    catalog = running[0] if running else own  # as the fleet runs it: its SCHEDULE_* apply
    paused, claims = fleet[0].get(d.name), fleet[1].get(d.name, {})
    row = task_row(d.name, catalog, last, instances, paused, claims, now, conflict=conflict)
    if row.pop("next_fire_passed") or row["next_fire"] is None:
        found = _next_fire(d, catalog if running else None, row, now) if instances else None
        row["next_fire"] = iso(found)
    if row["claimed_by"] and row["running_since"] is None:
        row["running_since"] = "unknown (claimed by a replica without a record)"
    return {key: row[key] for key in STATUS_FIELDS}


def _next_fire(
    d: TaskDefinition, fleet: dict[str, Any] | None, row: dict[str, Any], now: datetime
) -> datetime | None:
    """With no live record of a next fire: the fleet's schedule from a replica's catalogue
    (this command's own settings may differ), else this definition's."""
    from zoneinfo import ZoneInfo

    from worker.schedule.timing import next_fire_described
    from worker.state.read import parse_instant

    if fleet is None:
        return d.next_fire(now)
    try:  # a record of another version may hold what this one cannot read: no next fire
        zone, last = ZoneInfo(str(fleet.get("timezone") or "UTC")), parse_instant(row["next_fire"])
        aligned, described = fleet.get("scope") == "cluster", str(fleet.get("schedule"))
        found = next_fire_described(described, timezone=zone, aligned=aligned, now=now, last=last)
    except (ValueError, KeyError):
        return None
    return None if fleet.get("disabled") else found


async def reach_redis(settings: WorkerSettings) -> Redis:
    """A client that answered PING (and is the primary) within 3 s."""
    from worker.connect.redis import make_client, reach

    where = settings.safe_redis_url()
    try:
        client = make_client(
            settings.redis_url_value(),
            timeout=REACH_TIMEOUT,
            sentinels=settings.sentinels,
            master=settings.redis_sentinel_master,
        )
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"REDIS_URL: {where}: {type(exc).__name__}") from None
    try:
        await reach(client, where, REACH_TIMEOUT)
    except BaseException:
        await client.aclose()
        raise
    return client


def _status_text(report: dict[str, Any], zones: list[tzinfo]) -> str:
    from worker.cli.fleet_text import conflicts_text, replica_notes
    from worker.state.read import RECENT_RUNS, parse_instant

    instances = report["instances"]
    lines = [f"replicas alive: {len(instances)}"]
    lines += [
        f"  {i.get('id')}  host={i.get('host') or i.get('hostname')}  pid={i.get('pid')}  "
        f"version={i.get('version')}  roles={','.join(i.get('roles') or ['-'])}  "
        f"started={i.get('started_at')}  rss_mb={i.get('rss_mb')}  "
        f"cpu%={i.get('cpu_percent')}  last_seen={i.get('last_seen') or i.get('heartbeat_at')}"
        f"{replica_notes(i)}"
        for i in instances
    ]
    rows = [
        [
            t["name"],
            t["last_run"] or "-",
            (t.get("instance") or "-") + (" (recovered)" if t.get("recovered") else ""),
            t["outcome"] or "-",
            "-" if t["duration_ms"] is None else f"{t['duration_ms']:.1f}ms",
            "disabled" if t["disabled"] else (local(parse_instant(t["next_fire"]), zone) or "-"),
            _paused(t),
            t["running_since"] or "-",
            str(t["consecutive_failures"]),
            " ".join(f"{k}={v}" for k, v in sorted((t.get("counts") or {}).items())) or "-",
        ]
        for t, zone in zip(report["tasks"], zones, strict=True)
    ]
    header = ["TASK", "LAST RUN", "ON", "OUTCOME", "DURATION", "NEXT FIRE", "PAUSED"]
    header += ["RUNNING SINCE", "FAILURES", f"runs (last {RECENT_RUNS})"]
    from worker.cli.queue_status import queues_text

    table = _table(header, rows) + conflicts_text(report["tasks"])
    return "\n".join(lines) + "\n\n" + table + queues_text(report.get("queues", []))


def _paused(task: dict[str, Any]) -> str:
    if not task.get("paused"):
        return "-"
    until = task.get("paused_until")
    return f"until {until}" if until else "yes"


def _limit(seconds: float | None) -> str:
    from worker.settings.durations import format_duration

    return format_duration(seconds) if seconds else "none"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )
