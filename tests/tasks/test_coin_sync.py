"""worker.testing runs one processor job (one attempt, as the bullmq Worker runs it); the
shipped coin-sync task and sync-coin processor tested through it."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any, cast

import pytest
from dependency_injector import providers

from container import Container
from tasks import coin_sync
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


async def test_the_first_job_opens_its_http_client_off_the_event_loop(
    redis_url: str, api: PriceApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Importing httpx and loading its CA bundle hold whoever does it for tens of ms: on the
    loop, every task's fire would wait that long. The opening waits here until the loop has
    run something, which it can only do if the opening is not on the loop."""
    loop_ran = threading.Event()
    opened_after_loop_ran: list[bool] = []
    real_open = coin_sync._open

    def observed_open(timeout: float) -> Any:
        opened_after_loop_ran.append(loop_ran.wait(5))
        return real_open(timeout)

    monkeypatch.setattr(coin_sync, "_open", observed_open)
    async with kit(redis_url, api) as app:
        asyncio.get_running_loop().call_later(0.05, loop_ran.set)
        record = await app.run_job("coin-sync", {"coin": "bitcoin"})
    assert record.outcome == "ok"
    assert opened_after_loop_ran == [True]


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


async def test_an_answer_over_price_api_max_bytes_fails_the_job_at_once_unread(
    redis_url: str, api: PriceApi
) -> None:
    """Its Content-Length says it all: the job fails before a byte of the body is read."""
    api.scripts["bitcoin"] = ["big:50000000"]
    async with kit(redis_url, api) as app:
        record = await app.run_job("coin-sync", {"coin": "bitcoin"})
        error = app.last_job_error
    assert record.outcome == "failed"
    assert record.error == (
        "JobError: price API: answer of 50,000,000 bytes, over PRICE_API_MAX_BYTES (1,000,000)"
    )
    assert isinstance(error, JobError)
    assert not error.retry
    assert api.sent < 10_000_000


async def test_an_answer_without_a_length_is_read_only_up_to_the_limit(
    redis_url: str, api: PriceApi
) -> None:
    api.scripts["bitcoin"] = ["stream:50000000"]
    async with kit(redis_url, api, PRICE_API_MAX_BYTES="200000") as app:
        record = await app.run_job("coin-sync", {"coin": "bitcoin"})
        error = app.last_job_error
    assert record.outcome == "failed"
    assert record.error == "JobError: price API: answer over PRICE_API_MAX_BYTES (200,000 bytes)"
    assert isinstance(error, JobError)
    assert not error.retry
    assert api.sent < 10_000_000


async def test_a_compressed_answer_is_bounded_once_decoded(redis_url: str, api: PriceApi) -> None:
    """50 MB of zeros are 50 kB of gzip: the limit is on what the body decodes to."""
    api.scripts["bitcoin"] = ["gzip:50000000"]
    async with kit(redis_url, api) as app:
        record = await app.run_job("coin-sync", {"coin": "bitcoin"})
    assert record.outcome == "failed"
    assert "over PRICE_API_MAX_BYTES" in (record.error or "")


async def test_an_answer_within_the_limit_is_read_whole(redis_url: str, api: PriceApi) -> None:
    async with kit(redis_url, api, PRICE_API_MAX_BYTES="1000") as app:
        record = await app.run_job("coin-sync", {"coin": "bitcoin"})
    assert record.outcome == "ok"


async def test_job_data_of_the_wrong_shape_fails_at_once_without_quoting_it(
    redis_url: str, api: PriceApi
) -> None:
    async with kit(redis_url, api) as app:
        listed = await app.run_job("coin-sync", ["bitcoin"] * 100_000)
        long = await app.run_job("coin-sync", {"coin": "x" * 10_000})
    assert (listed.outcome, long.outcome) == ("failed", "failed")
    assert listed.error == (
        "JobError: job data is not {'coin': a coin of 1 to 100 characters}: a JSON list"
    )
    assert (long.error or "").endswith("an object with keys 'coin'")
    assert api.requests == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("9" * 40, 1e40),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # past
        ("soon", None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_retry_after_reads_seconds_or_an_http_date_and_ignores_anything_else(
    header: str, expected: float | None
) -> None:
    import httpx

    from tasks.coin_sync import retry_after

    response = httpx.Response(429, headers={"Retry-After": header})
    found = retry_after(response)
    assert found == pytest.approx(expected) if expected is not None else found is None


def test_retry_after_as_a_future_http_date_is_the_seconds_until_it() -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    import httpx

    from tasks.coin_sync import retry_after

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    found = retry_after(httpx.Response(429, headers={"Retry-After": when}))
    assert found is not None
    assert 85 <= found <= 91


async def test_an_answer_that_never_ends_fails_the_job_within_the_fetch_timeout(
    redis_url: str, api: PriceApi
) -> None:
    """httpx bounds each read only: a byte every 0.2 s kept one fetch going for ever."""
    from tasks.coin_sync import CoinSyncTasks

    api.scripts["bitcoin"] = ["drip:0.2"]
    tasks = CoinSyncTasks(
        cast(Any, None),
        cast(Any, None),
        coins=("bitcoin",),
        price_api_url=api.url,
        max_delay=0,
        fetch_timeout=1.0,
    )
    started = time.monotonic()
    try:
        with pytest.raises(JobError, match=r"^price API: no whole answer within 1s$"):
            await tasks._fetch("bitcoin")
    finally:
        await tasks.on_shutdown()
    assert time.monotonic() - started < 3
