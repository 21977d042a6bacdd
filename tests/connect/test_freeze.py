"""A Redis that stops answering without closing a socket (SIGSTOP): the outage shows within
REDIS_TIMEOUT, fires fold, one catch-up goes out when it answers again, SIGTERM still stops."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tests.apps.lone import LONE
from tests.support import (
    RedisServer,
    WorkerProcess,
    status_when,
    subscribed,
    task_of,
    wait_for,
)

Spawn = Callable[..., WorkerProcess]
CUSTOM = ("--app", "tests.apps.custom:Container")
REDIS_TIMEOUT = 1.0
FROZEN = {
    "REDIS_TIMEOUT": f"{REDIS_TIMEOUT:g}",
    "SCHEDULE_CRYPTO_TRIGGER": "* * * * * *",
    "OUTAGE_LOG_INTERVAL": "1",
}


def seen_after(worker: WorkerProcess, offset: int, text: str) -> int:
    """How often `text` appears in stderr past the first `offset` characters."""
    return worker.stderr[offset:].count(text)


def covered_seconds(messages: list[dict[str, Any]]) -> list[int]:
    """Each distinct fire's second and the seconds its `missed` stands for, in order."""
    seen: dict[str, dict[str, Any]] = {}
    for message in messages:
        seen.setdefault(message["id"], message)
    seconds: list[int] = []
    for message in sorted(seen.values(), key=lambda m: m["scheduled_for"]):
        newest = int(datetime.fromisoformat(message["scheduled_for"][:-1]).timestamp())
        seconds += [newest - k for k in range(message.get("missed", 0), -1, -1)]
    return seconds


def test_frozen_redis_is_an_outage_and_the_catch_up_names_what_may_have_landed(
    spawn_worker: Spawn, fault_redis: RedisServer
) -> None:
    with subscribed(fault_redis, "crypto-update") as subscriber:
        worker = spawn_worker(*LONE, redis=fault_redis.url, **FROZEN)
        subscriber.wait_count(2)
        mark = len(worker.stderr)
        fault_redis.freeze()
        frozen = time.monotonic()
        try:
            wait_for(
                lambda: seen_after(worker, mark, "outage started"),
                timeout=REDIS_TIMEOUT + 3,
                what="outage started",
            )
            noticed = time.monotonic() - frozen
            wait_for(
                lambda: seen_after(worker, mark, "targets_pending=redis-pubsub") >= 3,
                what="three fires pending in the redis-pubsub lane",
            )
            before = len(subscriber.messages)
        finally:
            fault_redis.thaw()
        wait_for(
            lambda: any("maybe_delivered" in m.data for m in subscriber.messages[before:]),
            what="a message naming a fire whose reply was lost",
        )
        wait_for(
            lambda: "maybe_delivered" not in subscriber.messages[-1].data, what="a normal message"
        )
        assert worker.stop() == 0
    assert noticed <= REDIS_TIMEOUT + 1.5, f"outage noticed {noticed:.2f}s after the freeze"
    after = [m.data for m in subscriber.messages]
    named = {m["maybe_delivered"] for m in after if "maybe_delivered" in m}
    # A fire whose reply was lost may have landed: it is named, never counted in `missed`,
    # so no second is covered twice; and every second is covered or named.
    seconds = covered_seconds(after)
    assert len(seconds) == len(set(seconds)), after
    maybe = {int(datetime.fromisoformat(i.split(":", 1)[1][:-1]).timestamp()) for i in named}
    assert set(range(seconds[0], seconds[-1] + 1)) <= set(seconds) | maybe, after
    assert "Traceback" not in worker.stderr


def test_sigterm_while_redis_is_frozen_exits_zero_within_shutdown_timeout(
    spawn_worker: Spawn, fault_redis: RedisServer
) -> None:
    worker = spawn_worker(*LONE, redis=fault_redis.url, SHUTDOWN_TIMEOUT="3", **FROZEN)
    worker.wait_for_log("task=crypto-trigger outcome=ok")
    fault_redis.freeze()
    try:
        worker.wait_for_log("targets_pending=redis-pubsub")
        started = time.monotonic()
        code = worker.stop(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        fault_redis.thaw()
    assert code == 0, worker.stderr
    assert elapsed < 3.5, f"exit took {elapsed:.2f}s"
    assert "Traceback" not in worker.stderr


def test_run_past_three_periods_is_reported_stuck_and_status_shows_it_running(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    with subscribed(redis_server, "worker:alerts") as alerts:
        worker = spawn_worker(
            *CUSTOM,
            PROBE_STUCK_EVERY="300ms",
            PROBE_STUCK_SECONDS="30",
            HEARTBEAT_INTERVAL="1",
            SHUTDOWN_TIMEOUT="1",
        )
        alerts.wait_count(1)
        report = status_when(
            spawn_worker, lambda r: task_of(r, "probe-stuck")["running_since"], *CUSTOM
        )
        assert worker.stop() == 0
    event = alerts.messages[0].data
    assert (event["state"], event["task"]) == ("stuck", "probe-stuck")
    stuck = next(x for x in worker.stderr.splitlines() if "run stuck" in x)
    assert "task=probe-stuck" in stuck
    since = task_of(report, "probe-stuck")["running_since"]
    assert since.endswith("Z")
    assert "Traceback" not in worker.stderr
