"""The read-only commands: `list`, `status`, `check`. Output on stdout, pipeable."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from worker.connect.errors import describe_error
from worker.errors import ConfigError, UnavailableError
from worker.run.fire import format_instant

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from worker.app.context import ApplicationContext
    from worker.schedule.definitions import TaskDefinition
    from worker.settings.base import WorkerSettings

REACH_TIMEOUT = 3.0


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return format_instant(moment, precise=moment.microsecond != 0)


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


async def check(app: ApplicationContext) -> int:
    from worker.observe.heartbeat import check_writable

    check_writable(app.settings.heartbeat_file)
    client = await _reach(app.settings)
    await client.aclose()
    active = sum(1 for d in app.definitions if not d.disabled)
    settings = app.settings
    port = settings.metrics_port
    metrics = f"metrics on {settings.metrics_addr}:{port}" if port is not None else "metrics off"
    print(
        f"ok: {active} task(s) scheduled, redis reachable at {settings.safe_redis_url()}, {metrics}"
    )
    return 0


async def status(app: ApplicationContext, *, as_json: bool) -> int:
    from worker.cli.queue_status import read_queues
    from worker.state.keys import Keys
    from worker.state.read import FleetReader

    settings = app.settings
    client = await _reach(settings)
    reader = FleetReader(client, Keys(settings.key_prefix))
    try:
        async with asyncio.timeout(REACH_TIMEOUT * 2):
            instances = await reader.instances()
            summaries = await reader.summaries()
            queues = await read_queues(app, reader)
    except Exception as exc:
        raise UnavailableError(f"REDIS_URL: status read failed: {describe_error(exc)}") from None
    finally:
        await client.aclose()
    now = datetime.now(UTC)
    tasks = [_task_status(d, summaries.get(d.name, {}), instances, now) for d in app.definitions]
    report = {"instances": instances, "tasks": tasks, "queues": queues}
    zones = [d.timezone for d in app.definitions]
    print(json.dumps(report, indent=2) if as_json else _status_text(report, zones))
    return 0


def _task_status(
    d: TaskDefinition, last: dict[str, Any], instances: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    from worker.state.read import parse_instant

    # Records refresh every heartbeat; between them, compute from the schedule. With no
    # instance alive nothing will fire: no next fire.
    live = [parse_instant(i.get("next_fires", {}).get(d.name)) for i in instances]
    upcoming = [when for when in live if when is not None and when > now]
    computed = d.next_fire(now) if instances else None
    running = [parse_instant(i.get("running", {}).get(d.name)) for i in instances]
    since = min((when for when in running if when is not None), default=None)
    return {
        "name": d.name,
        "schedule": d.describe(),
        "scope": d.scope,
        "disabled": d.disabled,
        "last_run": last.get("started_at"),
        "scheduled_for": last.get("scheduled_for"),
        "outcome": last.get("outcome"),
        "duration_ms": last.get("duration_ms"),
        "next_fire": iso(min(upcoming, default=None) or computed),
        "consecutive_failures": last.get("consecutive_failures", 0),
        "last_error": last.get("error"),
        "instance": last.get("instance"),
        "running_since": iso(since),
    }


async def _reach(settings: WorkerSettings) -> Redis:
    """A client that answered PING (and is the primary) within 3 s."""
    from worker.connect.redis import make_redis, reach

    where = settings.safe_redis_url()
    try:
        client = make_redis(settings.redis_url_value(), timeout=REACH_TIMEOUT)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"REDIS_URL: {where}: {type(exc).__name__}") from None
    try:
        await reach(client, where, REACH_TIMEOUT)
    except BaseException:
        await client.aclose()
        raise
    return client


def _status_text(report: dict[str, Any], zones: list[tzinfo]) -> str:
    from worker.state.read import parse_instant

    instances = report["instances"]
    lines = [f"instances alive: {len(instances)}"]
    lines += [
        f"  {i.get('id')}  pid={i.get('pid')}  started={i.get('started_at')}  "
        f"heartbeat={i.get('heartbeat_at')}  roles={','.join(i.get('roles') or ['-'])}"
        for i in instances
    ]
    rows = [
        [
            t["name"],
            t["last_run"] or "-",
            t["outcome"] or "-",
            "-" if t["duration_ms"] is None else f"{t['duration_ms']:.1f}ms",
            "disabled" if t["disabled"] else (local(parse_instant(t["next_fire"]), zone) or "-"),
            t["running_since"] or "-",
            str(t["consecutive_failures"]),
        ]
        for t, zone in zip(report["tasks"], zones, strict=True)
    ]
    header = ["TASK", "LAST RUN", "OUTCOME", "DURATION", "NEXT FIRE", "RUNNING SINCE", "FAILURES"]
    from worker.cli.queue_status import queues_text

    return "\n".join(lines) + "\n\n" + _table(header, rows) + queues_text(report.get("queues", []))


def _limit(seconds: float | None) -> str:
    from worker.settings.durations import format_duration

    return format_duration(seconds) if seconds else "none"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )
