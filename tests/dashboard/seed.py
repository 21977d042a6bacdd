"""Fleet state for the dashboard tests, written by the framework's own writers (instance
records, run history, pauses, claims, target lanes, alerts, bullmq jobs): a reader that
drifts from its writer fails here."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from worker.cluster.claims import ClaimStore
from worker.cluster.replies import ClaimRequest
from worker.connect.outage import OutageMonitor
from worker.observe.alerts import Alerts
from worker.observe.heartbeat import Heartbeat
from worker.observe.instance import InstanceState, describe_app
from worker.protocol import format_instant
from worker.run.records import RunRecord
from worker.schedule.cron import parse_schedule
from worker.schedule.definitions import TaskDefinition
from worker.state.fleet import FleetClient
from worker.state.history import RunHistory
from worker.state.keys import Keys
from worker.state.targets import TargetLanes

KEYS = Keys()
QUEUE = "coin-sync"
QUEUE_PREFIX = "bull"
A, B = "inst-a", "inst-b"


def definition(name: str, schedule: str, scope: str = "instance") -> TaskDefinition:
    return TaskDefinition(
        name=name,
        provider="test",
        attribute=name,
        schedule=parse_schedule(schedule),
        scope=scope,  # type: ignore[arg-type]
        timezone=ZoneInfo("UTC"),
        time_limit=30.0,
        disabled=False,
        is_async=True,
    )


def instant(moment: datetime) -> str:
    return format_instant(moment, precise=True)


def record(task: str, at: datetime, outcome: str, **fields: Any) -> RunRecord:
    values: dict[str, Any] = {
        "task": task,
        "fire_id": f"{task}:{int(at.timestamp() * 1000)}",
        "scheduled_for": instant(at),
        "started_at": instant(at + timedelta(milliseconds=5)),
        "outcome": outcome,
        "duration_ms": 12.5,
        "lag_ms": 5.0,
        "missed": 0,
        "instance": A,
    }
    values.update(fields)
    return RunRecord(**values)


@dataclass
class Seeded:
    """What `seed_fleet` wrote, for the assertions."""

    next_fire: str
    paused_until: float
    claimed_at: str


async def heartbeat(
    client: aioredis.Redis, tmp: Path, instance_id: str, catalog: dict[str, Any], **state: Any
) -> None:
    """One beat of a replica's heartbeat: its record and its entry in the instance index."""
    instance = InstanceState(instance_id)
    instance.catalog = catalog
    instance.roles = ("scheduler", "processor")
    instance.health = {"rss_mb": 61.5, "cpu_percent": 3.25}
    for name, value in state.items():
        setattr(instance, name, value)
    beat = Heartbeat(
        state=instance,
        redis=client,
        keys=KEYS,
        file=tmp / f"{instance_id}.heartbeat",
        interval=30.0,
        redis_timeout=2.0,
        outage=OutageMonitor(),
    )
    await beat.beat()


async def seed_fleet(url: str, tmp: Path) -> Seeded:
    """Two replicas; tasks `price-sync` (cluster, paused for an hour, claimed now, a history
    with a failure, a recovery and missed fires), `report` (instance scope, runs on one
    replica), `old-task` (no replica runs it, only a summary); two targets' lanes; an alert
    stream; a queue with a failed job."""
    client = aioredis.Redis.from_url(url)
    now = datetime.now(UTC).replace(microsecond=0)
    upcoming = now + timedelta(minutes=5)
    price = definition("price-sync", "*/30 * * * * *", scope="cluster")
    report = definition("report", "0 * * * *")
    catalog_a = describe_app(
        [price, report], queues=[QUEUE], queue_prefix=QUEUE_PREFIX, targets=["lake", "mirror"]
    )
    catalog_b = describe_app([price], queues=[QUEUE], queue_prefix=QUEUE_PREFIX, targets=["lake"])
    since = instant(now - timedelta(seconds=3))
    await heartbeat(
        client,
        tmp,
        A,
        catalog_a,
        next_fires=lambda: {
            "price-sync": instant(upcoming),
            "report": instant(now + timedelta(hours=1)),
        },
        running=lambda: {"price-sync": since},
    )
    await heartbeat(
        client,
        tmp,
        B,
        catalog_b,
        next_fires=lambda: {"price-sync": instant(upcoming + timedelta(seconds=30))},
        # A replica of a version whose heartbeat wrote no figures of its own: only its health
        # check's.
        process_figures=dict,
    )

    history = RunHistory(client, keys=KEYS, maxlen=10_000, timeout=5.0)
    start = now - timedelta(minutes=10)
    await history.append(
        [
            record("price-sync", start, "ok", lag_ms=4.0),
            record(
                "price-sync",
                start + timedelta(seconds=30),
                "failed",
                lag_ms=7.0,
                error="HTTPError: 502 from the price API",
                consecutive_failures=1,
                instance=B,
            ),
            record(
                "price-sync",
                start + timedelta(seconds=60),
                "missed",
                lag_ms=0.0,
                duration_ms=0.0,
                missed=2,
            ),
            record(
                "price-sync",
                start + timedelta(seconds=90),
                "failed",
                lag_ms=9.0,
                error="HTTPError: 503 from the price API",
                consecutive_failures=2,
            ),
            record("report", start, "ok", lag_ms=1.0, duration_ms=250.0),
            record("old-task", start - timedelta(days=1), "timeout", consecutive_failures=1),
        ]
    )
    await history.append(
        [
            record(
                "price-sync",
                start + timedelta(seconds=120),
                "ok",
                lag_ms=11.0,
                duration_ms=40.0,
                recovered=True,
            )
        ]
    )

    await FleetClient(client, KEYS).pause("price-sync", 3600.0)
    raw: Any = await client.hget(KEYS.paused, "price-sync")

    paused_until = float(json.loads(raw)["until"])

    claims = ClaimStore(client, KEYS, owner=A, lease=60.0, skew=5.0, timeout=5.0)
    claimed_ms = int(time.time() * 1000)
    replies, _ = await claims.claim(
        [ClaimRequest("price-sync", claimed_ms, f"price-sync:{claimed_ms}", True, None)]
    )
    assert replies[0].status == "won", replies

    lanes = TargetLanes(client, keys=KEYS, timeout=5.0)
    delivered = now.timestamp() - 20
    await lanes.write(
        A,
        [
            {
                "target": "lake",
                "last_delivered": "price-sync:1",
                "delivered_at": delivered,
                "pending": None,
                "pending_missed": 0,
                "maybe_delivered": None,
                "failing_since": None,
            },
            {
                "target": "mirror",
                "last_delivered": None,
                "delivered_at": None,
                "pending": "price-sync:2",
                "pending_missed": 1,
                "maybe_delivered": None,
                "failing_since": delivered,
            },
        ],
    )
    await lanes.write(
        B,
        [
            {
                "target": "lake",
                "last_delivered": "price-sync:2",
                "delivered_at": delivered + 10,
                "pending": None,
                "pending_missed": 0,
                "maybe_delivered": None,
                "failing_since": None,
            }
        ],
    )

    alerts = Alerts(
        client,
        channel="worker:alerts",
        after=2,
        webhook_url=None,
        instance_id=A,
        redis_timeout=2.0,
        stream=KEYS.alerts,
    )
    alerts.on_run(
        record(
            "price-sync",
            start + timedelta(seconds=90),
            "failed",
            error="HTTPError: 503 from the price API",
            consecutive_failures=2,
        )
    )
    await alerts.close(5.0)
    alerts.on_run(record("price-sync", start + timedelta(seconds=120), "ok"))
    await alerts.close(5.0)

    await failed_job(url)
    await client.aclose()
    return Seeded(next_fire=instant(upcoming), paused_until=paused_until, claimed_at=since)


async def failed_job(url: str) -> None:
    """Two jobs on the queue, one failed by a bullmq Worker (its reason recorded), one waiting."""
    from bullmq import Queue, Worker

    options = {"connection": url, "prefix": QUEUE_PREFIX}
    queue = Queue(QUEUE, options)
    await queue.add("sync-coin", {"coin": "dogecoin"}, {"jobId": "bad-1", "attempts": 1})

    async def process(job: Any, token: str) -> None:
        raise RuntimeError(f"no price for {job.data['coin']}")

    worker = Worker(QUEUE, process, {**options, "autorun": False})
    runner = asyncio.create_task(worker.run())
    check = aioredis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while not await check.zcard(f"{QUEUE_PREFIX}:{QUEUE}:failed"):
        assert time.monotonic() < deadline, "the job never failed"
        await asyncio.sleep(0.02)
    await worker.close()
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    await queue.add("sync-coin", {"coin": "bitcoin"}, {"jobId": "ok-1"})
    await queue.close()
    await check.aclose()
