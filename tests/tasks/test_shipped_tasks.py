"""The shipped tasks (crypto trigger, health check, cleanup), run through worker.testing on a
real Redis. What only a running process shows (the heartbeat's instance record) is in
tests/tasks/test_shipped_tasks_process.py."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from loguru import logger
from redis.asyncio import Redis

from container import Container
from tasks import health
from tests.support import RedisServer, run_records
from worker.testing import WorkerTestApp

if TYPE_CHECKING:
    from loguru import Message, Record

DAY_MS = 86_400_000


def shipped(redis_url: str, **env: str) -> WorkerTestApp:
    return WorkerTestApp(Container, env={"REDIS_URL": redis_url, **env})


@contextmanager
def logged(level: str = "DEBUG") -> Iterator[list[Record]]:
    """The log records emitted inside the block."""
    records: list[Record] = []

    def keep(message: Message) -> None:
        records.append(message.record)

    sink = logger.add(keep, level=level)
    try:
        yield records
    finally:
        logger.remove(sink)


@asynccontextmanager
async def subscribed(redis_url: str, channel: str) -> AsyncIterator[Any]:
    client = Redis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)
    try:
        yield pubsub
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()


async def next_message(pubsub: Any, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
        if message is not None:
            payload: dict[str, Any] = json.loads(message["data"])
            return payload
    raise AssertionError(f"no message within {timeout}s")


async def test_crypto_trigger_publishes_the_fire_on_the_crypto_channel(redis_url: str) -> None:
    async with (
        subscribed(redis_url, "prices") as pubsub,
        shipped(redis_url, CRYPTO_CHANNEL="prices") as app,
    ):
        record = await app.run_task("crypto-trigger")
        payload = await next_message(pubsub)
    assert record.outcome == "ok"
    assert payload.pop("timestamp").endswith("Z")
    assert payload == {
        "trigger": "update",
        "event": "CRYPTO_UPDATE",
        "scheduled_for": record.scheduled_for,
        "id": record.fire_id,
    }
    assert record.fire_id.startswith("crypto-trigger:manual:")  # a run asked for by hand


async def test_crypto_trigger_fires_every_quarter_hour(redis_url: str) -> None:
    async with shipped(redis_url) as app:
        fires = app.next_fires(
            "crypto-trigger", count=3, after=datetime(2026, 5, 1, 9, 50, 1, tzinfo=UTC)
        )
    assert [f.strftime("%H:%M") for f in fires] == ["10:00", "10:15", "10:30"]


async def test_health_check_figures_go_to_the_instance_record(redis_url: str) -> None:
    async with shipped(redis_url) as app:
        record = await app.run_task("health-check")
        health = (await app.service("instance")).health
    assert record.outcome == "ok"
    assert health["rss_mb"] > 5
    assert 0 <= health["system_memory_percent"] <= 100
    assert health["redis_ping_ms"] >= 0
    assert health["loop_lag_ms"] >= 0
    assert "cpu_percent" in health


async def test_the_first_health_check_loads_psutil_off_the_event_loop(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The opening waits until the loop has run something, which it can only do if the
    opening is not on the loop (there, its import would delay every fire due meanwhile)."""
    loop_ran = threading.Event()
    opened_after_loop_ran: list[bool] = []
    real_process = health._this_process

    def observed_process() -> Any:
        opened_after_loop_ran.append(loop_ran.wait(5))
        return real_process()

    monkeypatch.setattr(health, "_this_process", observed_process)
    async with shipped(redis_url) as app:
        asyncio.get_running_loop().call_later(0.05, loop_ran.set)
        record = await app.run_task("health-check")
    assert record.outcome == "ok"
    assert opened_after_loop_ran == [True]


async def test_health_check_warns_above_the_memory_limit(redis_url: str) -> None:
    with logged("WARNING") as records:
        async with shipped(redis_url, HEALTH_MEMORY_LIMIT_MB="1") as app:
            record = await app.run_task("health-check")
    assert record.outcome == "ok"
    warnings = [r for r in records if r["message"] == "memory above HEALTH_MEMORY_LIMIT_MB"]
    assert [w["extra"]["limit_mb"] for w in warnings] == [1]


async def test_cleanup_deletes_history_older_than_retention_and_keeps_the_rest(
    redis_url: str, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    now_ms = int(time.time() * 1000)
    for age_days in (40, 35, 31):  # more than one batch of deletions
        for n in range(700):
            client.xadd("worker:runs", {"task": "old"}, id=f"{now_ms - age_days * DAY_MS}-{n}")
    for n in range(5):
        client.xadd("worker:runs", {"task": "recent"}, id=f"{now_ms - DAY_MS}-{n}")
    with logged("INFO") as records:
        async with shipped(redis_url, CLEANUP_RETENTION_DAYS="30") as app:
            record = await app.run_task("cleanup")
    assert record.outcome == "ok"
    assert [r["task"] for r in run_records(client)] == ["recent"] * 5
    cleaned = [r["extra"] for r in records if r["message"] == "history cleaned"]
    assert [(c["deleted"], c["retention_days"]) for c in cleaned] == [(2100, 30)]


async def test_cleanup_runs_daily_at_three(redis_url: str) -> None:
    async with shipped(redis_url) as app:
        fires = app.next_fires("cleanup", count=2, after=datetime(2026, 5, 1, 4, tzinfo=UTC))
    assert fires == [datetime(2026, 5, 2, 3, tzinfo=UTC), datetime(2026, 5, 3, 3, tzinfo=UTC)]
