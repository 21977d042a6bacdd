"""Promise 6: SIGTERM under load — no new fires, runs finish or are cancelled and recorded,
hooks run, Redis closed, exit 0, all within one SHUTDOWN_TIMEOUT deadline, Redis up or down."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import datetime

from tests.support import RedisServer, WorkerProcess, run_records, start_slow_run, wait_for
from worker.app.signals import REPEAT_WINDOW

Spawn = Callable[..., WorkerProcess]


def worker_connections(server: RedisServer) -> int:
    clients = server.client().client_list()
    return sum(1 for c in clients if c.get("name") == "crypto-stats-worker")


def test_sigterm_under_load_finishes_runs_runs_hooks_closes_redis_and_exits_zero(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    worker = start_slow_run(
        spawn_worker, client, PROBE_SLOW_SECONDS="1", SCHEDULE_HEALTH_CHECK="1s"
    )
    assert worker_connections(redis_server) >= 1
    started = time.monotonic()
    assert worker.stop() == 0
    elapsed = time.monotonic() - started
    assert elapsed < 3
    assert client.lrange("probe:slow", 0, -1) == [b"started", b"finished"]
    assert client.lrange("probe:hooks", 0, -1) == [b"startup", b"second-shutdown", b"shutdown"]
    assert worker_connections(redis_server) == 0
    # No fire handed over after the signal: a probe-tick run after it stands for a fire
    # handed over before it, within the lead (half its 200 ms interval) of the signal.
    before, after_stop = worker.stderr.split("shutdown started", 1)
    stopped_at = _instant(before.rsplit("\n", 1)[-1].split(" ", 1)[0])
    late = [
        line
        for line in after_stop.splitlines()
        if "task=probe-tick outcome=ok" in line
        and _instant(line.split("scheduled_for=", 1)[1].split(" ", 1)[0]) > stopped_at + 0.1
    ]
    assert not late, late


def _instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_run_still_going_at_shutdown_timeout_is_cancelled_recorded_and_exit_is_zero(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    worker = start_slow_run(spawn_worker, client, PROBE_SLOW_SECONDS="60", SHUTDOWN_TIMEOUT="2")
    started = time.monotonic()
    assert worker.stop() == 0
    assert time.monotonic() - started < 2.5
    assert "task=probe-slow outcome=cancelled" in worker.stderr
    outcomes = [r["outcome"] for r in run_records(client) if r["task"] == "probe-slow"]
    assert outcomes == ["cancelled"]
    assert worker_connections(redis_server) == 0


def test_sigterm_while_redis_is_down_abandons_the_retrying_trigger_within_the_deadline(
    spawn_worker: Spawn, fault_redis: RedisServer
) -> None:
    worker = spawn_worker(
        redis=fault_redis.url, SCHEDULE_CRYPTO_TRIGGER="* * * * * *", SHUTDOWN_TIMEOUT="2"
    )
    worker.wait_for_log("task=crypto-trigger outcome=ok")
    fault_redis.kill()
    worker.wait_for_log("task=crypto-trigger outcome=skipped")
    started = time.monotonic()
    assert worker.stop() == 0
    assert time.monotonic() - started < 2.5
    cancelled = next(
        x for x in worker.stderr.splitlines() if "task=crypto-trigger outcome=cancelled" in x
    )
    assert "scheduled_for=" in cancelled
    assert "missed=" in cancelled


def test_second_signal_cancels_runs_and_exits_one(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    worker = start_slow_run(spawn_worker, client, PROBE_SLOW_SECONDS="60")
    worker.signal(signal.SIGTERM)
    worker.wait_for_log("waiting for runs in flight")
    first = time.monotonic()  # the window opens when the worker took the signal, before this
    # A signal within REPEAT_WINDOW of the first is the same request (a process group's).
    wait_for(lambda: time.monotonic() - first > REPEAT_WINDOW, what="the repeat window")
    started = time.monotonic()
    worker.signal(signal.SIGINT)
    assert worker.wait() == 1
    assert time.monotonic() - started < 2
    assert "task=probe-slow outcome=cancelled" in worker.stderr


def test_idle_worker_with_redis_down_stops_fast_not_at_the_deadline(spawn_worker: Spawn) -> None:
    down = RedisServer()  # never started
    worker = spawn_worker(redis=down.url, SCHEDULE_HEALTH_CHECK="1s", SHUTDOWN_TIMEOUT="30")
    worker.wait_for_log("task=health-check outcome=ok")
    started = time.monotonic()
    assert worker.stop() == 0
    assert time.monotonic() - started < 3
    assert "run records not written at shutdown" in worker.stderr


def test_a_signal_repeated_at_once_is_one_request_not_a_forced_stop(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    worker = start_slow_run(spawn_worker, client, PROBE_SLOW_SECONDS="1")
    worker.signal(signal.SIGTERM)
    worker.signal(signal.SIGTERM)  # as `timeout` or a shell sends it to the whole group
    assert worker.wait() == 0
    assert "second signal" not in worker.stderr
    assert client.lrange("probe:slow", 0, -1) == [b"started", b"finished"]


def test_a_second_signal_cuts_a_hanging_shutdown_hook_within_a_second(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    """Before, the second signal was looked at once, before the hooks: a hook hanging on
    the way out held the process for the rest of SHUTDOWN_TIMEOUT."""
    worker = spawn_worker(
        "--app", "tests.apps.custom:Container", PROBE_BLOCK_SHUTDOWN="1", SHUTDOWN_TIMEOUT="30"
    )
    worker.wait_for_log(" ready ")
    client = redis_server.client()
    worker.signal(signal.SIGTERM)
    worker.wait_for_log("shutdown started")  # the window opens when the worker took the signal
    first = time.monotonic()
    wait_for(lambda: b"second-shutdown" in client.lrange("probe:hooks", 0, -1), what="the hook")
    wait_for(lambda: time.monotonic() - first > REPEAT_WINDOW, what="the repeat window")
    forced = time.monotonic()
    worker.signal(signal.SIGINT)
    assert worker.wait(timeout=10) == 1
    assert time.monotonic() - forced < 1.5
