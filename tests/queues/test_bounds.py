"""Every job ends, and nothing from outside is unbounded: a processor-only worker of the
shipped app against the local price API. `Retry-After` is capped, a job that cannot be read
fails at once, a killed replica's job comes back after about QUEUE_LOCK_DURATION, and large
answers leave the worker's memory flat."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

import psutil
import pytest
import redis

from tests.price_api import PriceApi
from tests.queue_support import QUEUE, enqueue, in_state, job, queue_env, stats
from tests.queues.test_interop import needs_node, node
from tests.support import WorkerProcess, run_records, wait_for

Spawn = Callable[..., WorkerProcess]
HOUR = 3600.0


def start(spawn: Spawn, api: PriceApi, **env: str) -> WorkerProcess:
    worker = spawn(**queue_env(api.url, **env))
    worker.wait_for_log("processor started")
    return worker


def due_in(client: redis.Redis, job_id: str) -> float:
    """Seconds until a delayed job is due (bullmq scores the delayed set ms * 0x1000)."""
    score = client.zscore(f"bull:{QUEUE}:delayed", job_id)
    assert score is not None, f"{job_id} is not delayed"
    return float(score) / 0x1000 / 1000 - time.time()


def job_records(client: redis.Redis) -> list[dict[str, str]]:
    return [r for r in run_records(client) if r["task"] == f"queue:{QUEUE}"]


@pytest.mark.parametrize("header", ["99999", "9" * 40])
async def test_a_retry_after_beyond_the_cap_parks_the_job_at_most_an_hour(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str, header: str
) -> None:
    """99999 parked the job 27.8 h; 40 digits made a delay of 10^43 ms (never retried)."""
    api.scripts["bitcoin"] = [f"429:{header}"]
    worker = start(spawn_worker, api)
    await enqueue(redis_url, "bitcoin", job_id="parked")
    wait_for(lambda: "parked" in in_state(client, "delayed"), timeout=10, what="delayed")
    assert HOUR - 10 <= due_in(client, "parked") <= HOUR
    [record] = wait_for(lambda: job_records(client), what="the attempt's record")
    assert record["outcome"] == "retrying"
    assert record["error"] == "JobError: price API: HTTP 429 (retry in 3600s)"
    assert "Retry-After beyond QUEUE_MAX_RETRY_AFTER: capped" in worker.stderr
    assert worker.stop() == 0


async def test_queue_max_retry_after_is_the_longest_a_retry_waits_for_retry_after(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    api.scripts["bitcoin"] = ["429:99999"]
    worker = start(spawn_worker, api, QUEUE_MAX_RETRY_AFTER="2s")
    await enqueue(redis_url, "bitcoin", job_id="capped")
    wait_for(lambda: stats(client, "bitcoin"), timeout=15, what="the retry")
    first, second = api.times("bitcoin")
    assert 1.9 <= second - first <= 3.5
    assert worker.stop() == 0


async def test_job_data_that_is_not_json_fails_the_job_at_once_with_the_reason(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    """Written by another producer: it stayed active for ever, a warning every 60 s."""
    await enqueue(redis_url, "bitcoin", job_id="garbled")
    client.hset(f"bull:{QUEUE}:garbled", "data", "coin=bitcoin")
    await enqueue(redis_url, "ethereum", job_id="fine")
    worker = start(spawn_worker, api)
    wait_for(lambda: in_state(client, "failed") == ["garbled"], timeout=10, what="failed")
    reason = job(client, "garbled")["failedReason"]
    assert reason.startswith("job data cannot be read (JSONDecodeError: Expecting value")
    assert "coin=bitcoin" not in reason
    wait_for(lambda: stats(client, "ethereum"), timeout=10, what="the next job")
    wait_for(lambda: len(job_records(client)) == 2, what="both records")
    records = {record["fire_id"]: record for record in job_records(client)}
    assert (records["garbled"]["outcome"], records["garbled"]["error"]) == ("failed", reason)
    assert records["fine"]["outcome"] == "ok"
    assert in_state(client, "active") == []
    assert api.times("bitcoin") == []
    assert worker.stop() == 0


async def test_job_data_that_is_not_utf8_fails_the_job_at_once(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    """Decoded strictly, the reply that moved it to active raised: active for ever."""
    await enqueue(redis_url, "bitcoin", job_id="latin-1")
    client.hset(f"bull:{QUEUE}:latin-1", "data", '{"coin": "bitcoïn"}'.encode("latin-1"))
    await enqueue(redis_url, "ethereum", job_id="fine")
    worker = start(spawn_worker, api)
    wait_for(lambda: in_state(client, "failed") == ["latin-1"], timeout=10, what="failed")
    reason: Any = client.hget(f"bull:{QUEUE}:latin-1", "failedReason")
    assert reason == b"job data cannot be read (NotUtf8Error: data is not UTF-8)"
    wait_for(lambda: stats(client, "ethereum"), timeout=10, what="the next job")
    assert api.times("bitcoin") == []
    assert worker.stop() == 0


@pytest.mark.parametrize(
    "options",
    # not JSON; JSON bullmq's Job cannot take (it raised again while the job was refused)
    ["{attempts: 3", '{"parent": 5}', '{"rdof": true, "fpof": true}'],
)
async def test_job_options_that_cannot_be_read_fail_the_job_at_once(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str, options: str
) -> None:
    await enqueue(redis_url, "bitcoin", job_id="bad-options")
    client.hset(f"bull:{QUEUE}:bad-options", "opts", options)
    worker = start(spawn_worker, api)
    wait_for(lambda: in_state(client, "failed") == ["bad-options"], timeout=10, what="failed")
    assert job(client, "bad-options")["failedReason"].startswith("job fields cannot be read")
    assert worker.stop() == 0


@needs_node
def test_a_node_job_whose_data_cannot_be_read_here_fails_at_once(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    """Node's JSON goes 2,000 arrays deep; Python's parser stops at about 1,000."""
    worker = start(spawn_worker, api)
    deep = "[" * 2000 + "]" * 2000
    assert node("produce.js", redis_url, QUEUE, "deep", deep) == "deep"
    wait_for(lambda: in_state(client, "failed") == ["deep"], timeout=10, what="failed")
    reason = job(client, "deep")["failedReason"]
    assert reason.startswith("job data cannot be read (RecursionError")
    [record] = wait_for(lambda: job_records(client), what="its record")
    assert (record["outcome"], record["error"]) == ("failed", reason)
    assert worker.stop() == 0


async def test_a_killed_replicas_job_is_recovered_about_queue_lock_duration_later(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str, tmp_path: object
) -> None:
    """A processor-only replica SIGKILLed mid-job; another, already running, takes the job up
    between 0.8 and 1.1 lock durations later (README). bullmq's own intervals made it up to
    two: 59.1 s with the default 30 s."""
    lock = 4.0
    api.scripts["bitcoin"] = ["slow:30"]
    env = {"QUEUE_LOCK_DURATION": f"{lock:g}s"}
    doomed = start(spawn_worker, api, HEARTBEAT_FILE=f"{tmp_path}/a", **env)
    await enqueue(redis_url, "bitcoin", job_id="orphan")
    wait_for(lambda: api.active == 1, what="request in flight")
    survivor = start(spawn_worker, api, HEARTBEAT_FILE=f"{tmp_path}/b", **env)
    killed_at = time.monotonic()
    doomed.signal(signal.SIGKILL)
    doomed.wait()
    wait_for(lambda: len(api.times("bitcoin")) == 2, timeout=3 * lock, what="recovered")
    recovered_after = api.times("bitcoin")[1] - killed_at
    print(f"recovered {recovered_after:.2f} s after the kill (lock {lock:g} s)")
    assert 0.7 * lock <= recovered_after <= 1.2 * lock
    wait_for(lambda: in_state(client, "completed") == ["orphan"], timeout=10, what="completed")
    assert survivor.stop() == 0


async def test_five_50_mb_answers_at_once_leave_the_workers_memory_flat(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    """Read whole, five at once took a worker from 89.6 to 992.5 MB, and it stayed there."""
    coins = [f"coin{n}" for n in range(5)]
    for n, coin in enumerate(coins):
        api.scripts[coin] = ["stream:50000000" if n % 2 else "big:50000000", "always"]
    worker = start(spawn_worker, api)
    process = psutil.Process(worker.process.pid)
    before = process.memory_info().rss
    peak = before
    for round_ in range(3):
        for coin in coins:
            await enqueue(redis_url, coin, job_id=f"{coin}-{round_}")

        def round_done(round_: int = round_) -> bool:
            nonlocal peak
            peak = max(peak, process.memory_info().rss)
            return len([j for j in in_state(client, "failed") if j.endswith(f"-{round_}")]) == 5

        wait_for(round_done, timeout=60, what=f"round {round_}")
    after = process.memory_info().rss
    mb = 1024 * 1024
    print(f"RSS before {before / mb:.1f} MB, peak {peak / mb:.1f} MB, after {after / mb:.1f} MB")
    assert peak < 250 * mb
    assert after - before < 50 * mb
    assert "over PRICE_API_MAX_BYTES" in job(client, "coin0-2")["failedReason"]
    assert worker.stop() == 0
