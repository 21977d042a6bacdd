"""Queue jobs end to end: a processor-only worker, the shipped `sync-coin` processor, a local
price API; retries, final failures, keep counts, concurrency."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from tests.price_api import PriceApi
from tests.queue_support import enqueue, in_state, job, queue_env, stats
from tests.support import WorkerProcess, run_records, wait_for

Spawn = Callable[..., WorkerProcess]


def outcomes(client: redis.Redis) -> list[str]:
    return [r["outcome"] for r in run_records(client) if r["task"] == "queue:coin-sync"]


def start(spawn: Spawn, api: PriceApi, **env: str) -> WorkerProcess:
    worker = spawn(**queue_env(api.url, **env))
    worker.wait_for_log("processor started")
    return worker


async def test_a_failing_job_retries_after_2s_then_4s_and_then_succeeds(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    api.scripts["bitcoin"] = ["500", "500"]
    worker = start(spawn_worker, api)
    await enqueue(redis_url, "bitcoin", job_id="retried")
    wait_for(lambda: stats(client, "bitcoin"), timeout=15, what="stats stored")
    times = api.times("bitcoin")
    gaps = [round(later - earlier, 2) for earlier, later in itertools.pairwise(times)]
    print(f"retry gaps observed: {gaps}")
    assert len(times) == 3, gaps
    assert 1.9 <= gaps[0] <= 3.0, gaps
    assert 3.9 <= gaps[1] <= 5.0, gaps
    stored = stats(client, "bitcoin")
    assert stored is not None
    assert stored["price"] == 50000.5
    assert set(stored) == {"price", "market_cap", "change_24h", "fetched_at"}
    assert wait_for(lambda: "retried" in in_state(client, "completed"), what="completed")
    assert wait_for(lambda: outcomes(client) == ["retrying", "retrying", "ok"], timeout=10)
    assert worker.stop() == 0


async def test_a_delayed_job_starts_when_due_with_nothing_else_enqueued(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    """Due in 8 s: the Worker's wait for it (a BZPOPMIN of 8 s) must outlast its connection's
    read timeout, or it is resent until bullmq's retries run out, minutes late. Its run's lag
    counts from when it was due, not from when it was enqueued."""
    worker = start(spawn_worker, api)
    enqueued = time.monotonic()  # the price API notes requests on this clock
    await enqueue(redis_url, "bitcoin", job_id="later", delay=8.0)
    due = enqueued + 8.0
    started = wait_for(lambda: api.times("bitcoin"), timeout=20, what="the delayed job")[0]
    print(f"delayed job started {started - due:+.3f} s from due")
    assert -0.1 < started - due < 2.0
    [record] = wait_for(
        lambda: [r for r in run_records(client) if r["task"] == "queue:coin-sync"], timeout=10
    )
    assert record["outcome"] == "ok"
    assert 0 <= float(record["lag_ms"]) < 2000
    assert worker.stop() == 0


async def test_a_job_failing_every_attempt_fails_with_its_reason_and_alerts(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    api.scripts["bitcoin"] = ["500"] * 3
    worker = start(spawn_worker, api, QUEUE_COIN_SYNC_BACKOFF="100ms", ALERT_AFTER_FAILURES="1")
    await enqueue(redis_url, "bitcoin", job_id="doomed", backoff=0.1)
    wait_for(lambda: "doomed" in in_state(client, "failed"), timeout=10, what="failed")
    assert job(client, "doomed")["failedReason"] == "price API: HTTP 500"
    assert len(api.times("bitcoin")) == 3
    alerts: Any = wait_for(lambda: client.xrange("worker:alerts"), what="alert stored")
    event = json.loads(alerts[0][1][b"data"])
    assert (event["task"], event["state"], event["failures"]) == ("queue:coin-sync", "failing", 1)
    assert wait_for(lambda: outcomes(client) == ["retrying", "retrying", "failed"], timeout=10)
    assert worker.stop() == 0


@pytest.mark.parametrize(("answer", "reason"), [("404", "HTTP 404"), ("badjson", "not JSON")])
async def test_a_client_error_or_bad_json_fails_the_job_at_once(
    spawn_worker: Spawn,
    api: PriceApi,
    client: redis.Redis,
    redis_url: str,
    answer: str,
    reason: str,
) -> None:
    api.scripts["bitcoin"] = [answer]
    worker = start(spawn_worker, api)
    await enqueue(redis_url, "bitcoin", job_id="bad")
    wait_for(lambda: "bad" in in_state(client, "failed"), timeout=10, what="failed")
    assert reason in job(client, "bad")["failedReason"]
    assert len(api.times("bitcoin")) == 1
    assert worker.stop() == 0


async def test_a_retry_after_longer_than_the_backoff_delays_the_retry(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    api.scripts["bitcoin"] = ["429:3"]
    worker = start(spawn_worker, api, QUEUE_COIN_SYNC_BACKOFF="200ms")
    await enqueue(redis_url, "bitcoin", job_id="limited", backoff=0.2)
    wait_for(lambda: stats(client, "bitcoin"), timeout=10, what="stats stored")
    first, second = api.times("bitcoin")
    assert 2.9 <= second - first <= 4.5
    assert worker.stop() == 0


async def test_the_queue_keeps_the_last_10_completed_and_5_failed_jobs(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    api.scripts["solana"] = ["404"] * 8
    worker = start(spawn_worker, api)
    for n in range(14):
        await enqueue(redis_url, "bitcoin", job_id=f"ok-{n}")
    for n in range(8):
        await enqueue(redis_url, "solana", job_id=f"bad-{n}")
    wait_for(lambda: len(api.requests) == 22, timeout=15, what="every job run")
    wait_for(lambda: not in_state(client, "active") and not in_state(client, "wait"))
    assert len(in_state(client, "completed")) == 10
    assert sorted(in_state(client, "failed")) == [f"bad-{n}" for n in range(3, 8)]
    assert worker.stop() == 0


async def test_jobs_run_concurrently_up_to_the_setting_and_never_above(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    coins = [f"coin{n}" for n in range(9)]
    for coin in coins:
        api.scripts[coin] = ["slow:0.6"]
    worker = start(spawn_worker, api, QUEUE_COIN_SYNC_CONCURRENCY="3")
    for coin in coins:
        await enqueue(redis_url, coin)
    wait_for(lambda: all(stats(client, c) for c in coins), timeout=15, what="all synced")
    assert api.max_active == 3
    assert worker.stop() == 0


async def test_metrics_count_job_attempts_and_queue_jobs_by_state(
    spawn_worker: Spawn, api: PriceApi, redis_url: str
) -> None:
    from tests.metrics_support import scrape_until
    from tests.support import free_port
    from worker.queues.queues import Queues

    queues = Queues(url=redis_url, prefix="bull", overrides={}, timeout=5.0)
    await queues.add("coin-sync", "sync-coin", {"coin": "bitcoin"}, job_id="later", delay=120)
    await queues.close()
    api.scripts["solana"] = ["404"]
    await enqueue(redis_url, "solana", job_id="missing")
    port = free_port()
    worker = start(spawn_worker, api, METRICS_PORT=str(port))
    found = scrape_until(
        port,
        lambda e: (
            e.value("worker_runs_total", task="queue:coin-sync", outcome="failed") == 1
            and e.value("worker_queue_jobs", queue="coin-sync", state="delayed") == 1
        ),
        "job metrics",
    )
    assert found.value("worker_runs_total", task="queue:coin-sync", outcome="ok") == 0
    assert worker.stop() == 0
