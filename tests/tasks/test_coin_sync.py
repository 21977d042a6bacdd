"""worker.testing runs one processor job (one attempt, as the bullmq Worker runs it); the
shipped coin-sync task and sync-coin processor tested through it."""

from __future__ import annotations

import json
from typing import Any

from dependency_injector import providers

from container import Container
from tests.price_api import PriceApi
from tests.support import RedisServer
from worker import FrameworkContainer, JobError, processor
from worker.testing import WorkerTestApp


def kit(redis_url: str, api: PriceApi, **env: str) -> WorkerTestApp:
    return WorkerTestApp(Container, env={"REDIS_URL": redis_url, "PRICE_API_URL": api.url, **env})


async def test_one_job_runs_through_the_processor_and_stores_the_coin(
    redis_server: RedisServer, redis_url: str, api: PriceApi
) -> None:
    async with kit(redis_url, api) as app:
        record = await app.run_job("coin-sync", {"coin": "bitcoin"}, job_id="kit-1")
    assert (record.task, record.outcome, record.fire_id) == ("queue:coin-sync", "ok", "kit-1")
    raw: Any = redis_server.client().get("crypto:stats:bitcoin")
    assert json.loads(raw)["price"] == 50000.5
    history: Any = redis_server.client().lrange("crypto:history:bitcoin", 0, -1)
    assert [json.loads(entry)["price"] for entry in history] == [50000.5]


async def test_a_server_error_is_retrying_until_the_last_attempt_fails(
    redis_url: str, api: PriceApi
) -> None:
    api.scripts["bitcoin"] = ["500", "500"]
    async with kit(redis_url, api) as app:
        first = await app.run_job("coin-sync", {"coin": "bitcoin"}, attempt=1)
        last = await app.run_job("coin-sync", {"coin": "bitcoin"}, attempt=3)
    assert (first.outcome, last.outcome) == ("retrying", "failed")
    assert (first.consecutive_failures, last.consecutive_failures) == (0, 1)
    assert isinstance(app.last_job_error, JobError)


async def test_a_429_carries_its_retry_after_and_a_404_is_not_retried(
    redis_url: str, api: PriceApi
) -> None:
    api.scripts["bitcoin"] = ["429:7", "404"]
    async with kit(redis_url, api) as app:
        limited = await app.run_job("coin-sync", {"coin": "bitcoin"})
        limited_error = app.last_job_error
        missing = await app.run_job("coin-sync", {"coin": "bitcoin"})
        missing_error = app.last_job_error
    assert limited.outcome == "retrying"
    assert isinstance(limited_error, JobError)
    assert limited_error.retry_after == 7
    assert missing.outcome == "failed"
    assert isinstance(missing_error, JobError)
    assert not missing_error.retry


async def test_coin_sync_enqueues_one_job_per_coin_with_the_fire_id(
    redis_server: RedisServer, redis_url: str, api: PriceApi
) -> None:
    async with kit(redis_url, api, COINS="bitcoin,ethereum", SYNC_MAX_DELAY="0") as app:
        record = await app.run_task("coin-sync")
        again = await app.run_task("coin-sync")
    client = redis_server.client()
    raw: Any = client.lrange("bull:coin-sync:wait", 0, -1)
    waiting = sorted(value.decode() for value in raw)
    fires = sorted({record.fire_id, again.fire_id})
    assert waiting == sorted(f"{fire}:{coin}" for fire in fires for coin in ("bitcoin", "ethereum"))


class ExitingProcessor:
    @processor("exits")
    async def handle(self, data: dict[str, Any]) -> None:
        raise SystemExit(3)


class ExitingContainer(FrameworkContainer):
    exiting = providers.Singleton(ExitingProcessor)


async def test_a_processor_raising_systemexit_is_a_failed_attempt_not_the_loops_end(
    redis_url: str,
) -> None:
    """bullmq sees a plain failure (a RuntimeError naming SystemExit); before, SystemExit
    went up through the processor and ended the worker."""
    async with WorkerTestApp(ExitingContainer, env={"REDIS_URL": redis_url}) as app:
        last = await app.run_job("exits", {}, attempt=3)
    assert last.outcome == "failed"
    assert last.error == "SystemExit: 3"
    assert isinstance(app.last_job_error, RuntimeError)
    assert str(app.last_job_error) == "SystemExit: 3"
