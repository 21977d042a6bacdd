"""The read-only commands: `list`, `status`, `check`, `health`. Output on stdout, pipeable."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker.errors import ConfigError, UnavailableError
from worker.fire import format_instant
from worker.outage import describe_error

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from worker.application import ApplicationContext
    from worker.settings import WorkerSettings

REACH_TIMEOUT = 3.0


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return format_instant(moment, precise=moment.microsecond != 0)


def list_tasks(app: ApplicationContext, *, as_json: bool) -> int:
    now = datetime.now(UTC)
    next_fires = [iso(d.next_fire(now)) for d in app.definitions]
    if as_json:
        rows = [
            {
                "name": d.name,
                "schedule": d.describe(),
                "scope": d.scope,
                "time_limit": d.time_limit or None,
                "next_fire": next_fire,
                "disabled": d.disabled,
            }
            for d, next_fire in zip(app.definitions, next_fires, strict=True)
        ]
        print(json.dumps(rows, indent=2))
        return 0
    table = [
        [
            d.name,
            d.describe(),
            d.scope,
            _limit(d.time_limit),
            "disabled" if d.disabled else (next_fire or "-"),
        ]
        for d, next_fire in zip(app.definitions, next_fires, strict=True)
    ]
    print(_table(["NAME", "SCHEDULE", "SCOPE", "TIME LIMIT", "NEXT FIRE"], table))
    return 0


async def check(app: ApplicationContext) -> int:
    from worker.instance import check_writable

    check_writable(app.settings.heartbeat_file)
    client = await _reach(app.settings)
    await client.aclose()
    active = sum(1 for d in app.definitions if not d.disabled)
    print(f"ok: {active} task(s) scheduled, redis reachable at {app.settings.safe_redis_url()}")
    return 0


async def status(app: ApplicationContext, *, as_json: bool) -> int:
    from worker.history import RunHistory

    settings = app.settings
    client = await _reach(settings)
    try:
        async with asyncio.timeout(REACH_TIMEOUT * 2):
            instances = await _instances(client, settings.key_prefix)
            history = RunHistory(
                client, key_prefix=settings.key_prefix, maxlen=settings.run_history_maxlen
            )
            summaries = await history.summaries()
    except Exception as exc:
        raise UnavailableError(f"REDIS_URL: status read failed: {describe_error(exc)}") from None
    finally:
        await client.aclose()
    now = datetime.now(UTC)
    tasks = []
    for d in app.definitions:
        last = summaries.get(d.name, {})
        stamp = iso(now) or ""
        live = [i.get("next_fires", {}).get(d.name) for i in instances]
        live = [f for f in live if f and f > stamp]
        # Records refresh every heartbeat; between them, compute from the schedule. With no
        # instance alive nothing will fire: no next fire.
        computed = iso(d.next_fire(now)) if instances else None
        tasks.append(
            {
                "name": d.name,
                "schedule": d.describe(),
                "scope": d.scope,
                "disabled": d.disabled,
                "last_run": last.get("started_at"),
                "scheduled_for": last.get("scheduled_for"),
                "outcome": last.get("outcome"),
                "duration_ms": last.get("duration_ms"),
                "next_fire": min(live, default=None) or computed,
                "consecutive_failures": last.get("consecutive_failures", 0),
                "last_error": last.get("error"),
                "instance": last.get("instance"),
            }
        )
    report = {"instances": instances, "tasks": tasks}
    print(json.dumps(report, indent=2) if as_json else _status_text(report))
    return 0


def health(settings: WorkerSettings) -> int:
    try:
        age = time.time() - settings.heartbeat_file.stat().st_mtime
    except OSError:
        print(f"unhealthy: no heartbeat file at {settings.heartbeat_file}")
        return 1
    limit = 3 * settings.heartbeat_interval
    if age > limit:
        print(f"unhealthy: heartbeat is {age:.1f}s old (limit {limit:g}s)")
        return 1
    print(f"healthy: heartbeat {age:.1f}s ago")
    return 0


async def _reach(settings: WorkerSettings) -> Redis:
    """A client that answered PING within 3 s; wrong credentials are a configuration error."""
    from redis.exceptions import AuthenticationError, AuthorizationError, ResponseError

    from worker.clients import make_redis

    where = settings.safe_redis_url()
    try:
        client = make_redis(settings.redis_url_value(), connect_timeout=REACH_TIMEOUT)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"REDIS_URL: {where}: {type(exc).__name__}") from None
    try:
        async with asyncio.timeout(REACH_TIMEOUT):
            await client.ping()
    except (AuthenticationError, AuthorizationError) as exc:
        await client.aclose()
        raise ConfigError(f"REDIS_URL: {where}: authentication failed ({exc})") from None
    except ResponseError as exc:
        # The server answered and refused what the URL asks for (a password, a database).
        await client.aclose()
        if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
            raise ConfigError(f"REDIS_URL: {where}: authentication failed ({exc})") from None
        raise ConfigError(f"REDIS_URL: {where}: refused: {describe_error(exc)}") from None
    except Exception as exc:
        await client.aclose()
        reason = describe_error(exc) if str(exc) else "no answer within 3s"
        raise UnavailableError(f"REDIS_URL: cannot reach redis at {where}: {reason}") from None
    return client


async def _instances(client: Redis, key_prefix: str) -> list[dict[str, Any]]:
    keys = [key async for key in client.scan_iter(match=f"{key_prefix}instance:*", count=500)]
    if not keys:
        return []
    values = await client.mget(keys)
    found = [json.loads(v) for v in values if v]
    return sorted(found, key=lambda i: str(i.get("id")))


def _status_text(report: dict[str, Any]) -> str:
    instances = report["instances"]
    lines = [f"instances alive: {len(instances)}"]
    lines += [
        f"  {i.get('id')}  pid={i.get('pid')}  started={i.get('started_at')}  "
        f"heartbeat={i.get('heartbeat_at')}"
        for i in instances
    ]
    rows = [
        [
            t["name"],
            t["last_run"] or "-",
            t["outcome"] or "-",
            "-" if t["duration_ms"] is None else f"{t['duration_ms']:.1f}ms",
            "disabled" if t["disabled"] else (t["next_fire"] or "-"),
            str(t["consecutive_failures"]),
        ]
        for t in report["tasks"]
    ]
    header = ["TASK", "LAST RUN", "OUTCOME", "DURATION", "NEXT FIRE", "FAILURES"]
    return "\n".join(lines) + "\n\n" + _table(header, rows)


def _limit(seconds: float | None) -> str:
    from worker.durations import format_duration

    return format_duration(seconds) if seconds else "none"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )
