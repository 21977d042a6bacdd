"""Processors across a stop: SIGTERM lets the active job finish; after a SIGKILL the job is
recovered (bullmq's stalled check) by the next worker. Roles; `enqueue`; `status`."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable

import redis

from tests.price_api import PriceApi
from tests.queue_support import enqueue, in_state, queue_env, stats
from tests.support import RedisServer, WorkerProcess, status_when, wait_for
from worker.app.signals import REPEAT_WINDOW

Spawn = Callable[..., WorkerProcess]


async def test_sigterm_mid_job_lets_the_job_finish_then_exits_0(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    api.scripts["bitcoin"] = ["slow:1.5"]
    worker = spawn_worker(**queue_env(api.url))
    worker.wait_for_log("processor started")
    await enqueue(redis_url, "bitcoin", job_id="mid")
    wait_for(lambda: api.active == 1, what="request in flight")
    assert worker.stop() == 0
    assert stats(client, "bitcoin") is not None
    assert in_state(client, "completed") == ["mid"]
    assert len(api.requests) == 1


async def test_a_job_past_the_shutdown_deadline_is_left_active_for_recovery(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    api.scripts["bitcoin"] = ["slow:4"]
    env = queue_env(api.url, SHUTDOWN_TIMEOUT="1", QUEUE_LOCK_DURATION="1s")
    worker = spawn_worker(**env)
    worker.wait_for_log("processor started")
    await enqueue(redis_url, "bitcoin", job_id="long")
    wait_for(lambda: api.active == 1, what="request in flight")
    assert worker.stop() == 0
    assert in_state(client, "active") == ["long"]  # neither failed nor completed
    assert in_state(client, "failed") == []
    replacement = spawn_worker(**env)
    wait_for(lambda: in_state(client, "completed") == ["long"], timeout=15, what="recovered")
    assert replacement.stop() == 0


async def test_a_second_signal_leaves_the_running_job_for_recovery_and_exits_1_at_once(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    api.scripts["bitcoin"] = ["slow:30"]
    worker = spawn_worker(**queue_env(api.url))
    worker.wait_for_log("processor started")
    await enqueue(redis_url, "bitcoin", job_id="forced")
    wait_for(lambda: api.active == 1, what="request in flight")
    worker.signal(signal.SIGTERM)
    worker.wait_for_log("shutdown started")
    first = time.monotonic()  # the window opens when the worker took the signal, before this
    # A signal within REPEAT_WINDOW of the first is the same request (a process group's).
    wait_for(lambda: time.monotonic() - first > REPEAT_WINDOW, what="the repeat window")
    forced_at = time.monotonic()
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 1
    assert time.monotonic() - forced_at < 2.0
    assert in_state(client, "active") == ["forced"]
    assert "job task=queue:coin-sync outcome=cancelled" in worker.stderr


async def test_a_job_of_a_killed_worker_is_recovered_by_the_next_one(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    api.scripts["bitcoin"] = ["slow:30"]
    env = queue_env(api.url, QUEUE_LOCK_DURATION="1s")
    worker = spawn_worker(**env)
    worker.wait_for_log("processor started")
    await enqueue(redis_url, "bitcoin", job_id="orphan")
    wait_for(lambda: api.active == 1, what="request in flight")
    worker.signal(signal.SIGKILL)
    worker.wait()
    replacement = spawn_worker(**env)
    wait_for(lambda: in_state(client, "completed") == ["orphan"], timeout=15, what="recovered")
    assert len(api.times("bitcoin")) == 2
    assert replacement.stop() == 0


def test_a_processor_only_replica_is_alive_with_its_roles_and_mounts_no_schedule(
    spawn_worker: Spawn, api: PriceApi
) -> None:
    worker = spawn_worker(**queue_env(api.url))
    worker.wait_for_log("ready")
    report = status_when(spawn_worker, lambda r: bool(r["instances"]))
    (instance,) = report["instances"]
    assert instance["roles"] == ["processor"]
    assert not any(instance["next_fires"].values())
    assert worker.stop() == 0


def test_an_unknown_role_or_queue_override_is_a_one_line_configuration_error(
    spawn_worker: Spawn,
) -> None:
    for env, text in [
        ({"WORKER_ROLES": "scheduler,cook"}, "WORKER_ROLES"),
        ({"QUEUE_COIN_SINK_ATTEMPTS": "4"}, "QUEUE_COIN_SINK_ATTEMPTS: names no queue"),
    ]:
        process = spawn_worker("list", **env)
        assert process.wait() == 78
        assert text in process.stderr
        assert len(process.stderr.strip().splitlines()) == 1


def test_a_queue_setting_out_of_its_range_stops_the_start_with_one_line(
    spawn_worker: Spawn,
) -> None:
    """10^12 concurrency slots were taken: bullmq made a task per slot, 2 GB in 14 s."""
    for env, text in [
        ({"QUEUE_COIN_SYNC_CONCURRENCY": "1000000000000"}, "QUEUE_COIN_SYNC_CONCURRENCY:"),
        ({"QUEUE_COIN_SYNC_ATTEMPTS": "1000"}, "QUEUE_COIN_SYNC_ATTEMPTS:"),
        ({"QUEUE_COIN_SYNC_BACKOFF": "2h"}, "QUEUE_COIN_SYNC_BACKOFF:"),
        ({"QUEUE_LOCK_DURATION": "0"}, "QUEUE_LOCK_DURATION:"),
        ({"QUEUE_MAX_RETRY_AFTER": "48h"}, "QUEUE_MAX_RETRY_AFTER:"),
        ({"PRICE_API_MAX_BYTES": "0"}, "PRICE_API_MAX_BYTES:"),
    ]:
        process = spawn_worker(WORKER_ROLES="processor", **env)
        assert process.wait() == 78, process.stderr
        assert text in process.stderr
        assert len(process.stderr.strip().splitlines()) == 1
        assert "Traceback" not in process.stderr


def test_enqueue_adds_the_named_coins_or_all_coins_and_status_counts_them(
    spawn_worker: Spawn, client: redis.Redis
) -> None:
    one = spawn_worker("enqueue", "coin-sync", "solana", WORKER_ROLES="processor")
    assert one.wait() == 0, one.stderr
    every = spawn_worker("enqueue", "coin-sync", COINS="bitcoin,ethereum")
    assert every.wait() == 0, every.stderr
    data = sorted(
        json.loads(client.hget(f"bull:coin-sync:{i}", "data") or "{}")["coin"]
        for i in in_state(client, "wait") + in_state(client, "delayed")
    )
    assert data == ["bitcoin", "ethereum", "solana"]
    status = spawn_worker("status", "--json")
    assert status.wait() == 0
    (queue,) = json.loads(status.stdout)["queues"]
    assert queue["name"] == "coin-sync"
    assert queue["waiting"] + queue["delayed"] == 3
    unknown = spawn_worker("enqueue", "crypto-trigger")
    assert unknown.wait() == 2
    assert "queue tasks: coin-sync" in unknown.stderr


def test_enqueue_without_coins_enqueues_every_coin_due_now_without_the_spread(
    spawn_worker: Spawn, client: redis.Redis
) -> None:
    """The spread delay is for the schedule; by hand, every coin in COINS is wanted now
    (before, only named coins skipped it: jobs started 7.9 s and 9.0 s later)."""
    every = spawn_worker("enqueue", "coin-sync", COINS="bitcoin,ethereum", SYNC_MAX_DELAY="30s")
    assert every.wait() == 0, every.stderr
    assert in_state(client, "delayed") == []
    waiting = in_state(client, "wait")
    assert len(waiting) == 2
    for job_id in waiting:
        assert (
            json.loads(client.hget(f"bull:coin-sync:{job_id}", "opts") or "{}").get("delay", 0) == 0
        )


def test_enqueue_without_redis_exits_69(spawn_worker: Spawn) -> None:
    process = spawn_worker("enqueue", "coin-sync", redis="redis://127.0.0.1:1/0", REDIS_TIMEOUT="1")
    assert process.wait() == 69


async def test_processors_take_jobs_again_after_a_redis_restart(
    spawn_worker: Spawn, api: PriceApi, own_redis: RedisServer
) -> None:
    """bullmq (Python) has had reconnect loops after a Redis restart (its issue #3103)."""
    worker = spawn_worker(redis=own_redis.url, **queue_env(api.url))
    worker.wait_for_log("processor started")
    own_redis.kill()  # the Worker's blocking wait for a job loses its connection
    own_redis.start()
    await enqueue(own_redis.url, "bitcoin", job_id="after-restart")
    client = own_redis.client()
    wait_for(lambda: stats(client, "bitcoin"), timeout=20, what="job after the restart")
    assert worker.stop() == 0
