"""`worker check`: settings and application valid, Redis and every trigger target reachable;
and a word on tasks the live replicas (or this configuration and a live replica) define
differently, which still exits 0: a rolling deploy that changes a schedule is normal."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from worker.cli.inspect import REACH_TIMEOUT, reach_redis

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from worker.app.context import ApplicationContext
    from worker.state.definitions import Disagreement


async def check(app: ApplicationContext) -> int:
    from worker.observe.heartbeat import check_writable

    check_writable(app.settings.heartbeat_file)
    client = await reach_redis(app.settings)
    try:
        differ = await fleet_disagreements(app, client)
    finally:
        await client.aclose()
    from worker.cli.targets import check_targets  # trigger targets

    targets = await check_targets(app.settings, REACH_TIMEOUT)
    active = sum(1 for d in app.definitions if not d.disabled)
    settings = app.settings
    port = settings.metrics_port
    metrics = f"metrics on {settings.metrics_addr}:{port}" if port is not None else "metrics off"
    for found in differ:
        print(f"warning: {found.line()}")
    print(
        f"ok: {active} task(s) scheduled, redis reachable at {settings.safe_redis_url()}, "
        f"{targets}, {metrics}"
    )
    return 0


async def fleet_disagreements(app: ApplicationContext, client: Redis) -> list[Disagreement]:
    """Where this configuration and the live replicas, or two live replicas, define a task
    differently: the lines their workers log (none when the records cannot be read)."""
    from worker.observe.instance import describe_app
    from worker.state.definitions import disagreements
    from worker.state.keys import Keys
    from worker.state.read import FleetReader

    settings = app.settings
    try:
        async with asyncio.timeout(REACH_TIMEOUT):
            records = await FleetReader(client, Keys(settings.key_prefix)).instances()
    except Exception:  # reached a moment ago: what check is for is said below
        return []
    mine: dict[str, Any] = describe_app(
        app.definitions, queues=(), queue_prefix=settings.queue_prefix, targets=()
    )["tasks"]
    found = disagreements(settings.worker_instance_id, mine, records)
    for record in records:
        pairs = disagreements(str(record.get("id")), record["tasks"], records)
        found += [d for d in pairs if d.instance < d.other]
    return found
