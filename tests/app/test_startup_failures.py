"""Defects that need a real `python -m worker` process; each docstring says what used to happen."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

from tests.support import RedisServer, WorkerProcess, run_records, wait_for
from worker.app.signals import REPEAT_WINDOW

Spawn = Callable[..., WorkerProcess]
CLIENT_NAME = "crypto-stats-worker"


def test_a_service_whose_constructor_raises_exits_78_with_one_line_and_redis_closed(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    """Before, the constructor's exception went up through start-up untouched: exit 1, a
    traceback on stderr, and the Redis resource was never shut down."""
    client = redis_server.client()
    connections_before = int(client.info("stats")["total_connections_received"])
    worker = spawn_worker("--app", "tests.apps.broken:Container")
    assert worker.wait(timeout=30) == 78
    lines = worker.stderr.splitlines()
    assert len(lines) == 1, worker.stderr
    assert "'unbuildable'" in lines[0]
    assert "RuntimeError: missing API key" in lines[0]
    assert "Traceback" not in worker.stderr
    assert worker.stdout == ""
    # The worker did reach Redis (its role check) before the service failed ...
    assert int(client.info("stats")["total_connections_received"]) > connections_before
    # ... and no connection of its own is left behind.
    wait_for(
        lambda: not [c for c in client.client_list() if c.get("name") == CLIENT_NAME],
        timeout=5,
        what="the worker's redis connection to close",
    )


def test_a_resource_whose_start_fails_exits_78_naming_it(spawn_worker: Spawn) -> None:
    """Before, `init_resources()` ran outside any handler: a 'worker crashed' traceback and
    exit 1, with the resources already started left open."""
    worker = spawn_worker("--app", "tests.apps.broken:Container", BROKEN_RESOURCE="1")
    assert worker.wait(timeout=30) == 78
    lines = worker.stderr.splitlines()
    assert len(lines) == 1, worker.stderr
    assert "resource 'api_client'" in lines[0]
    assert "RuntimeError: handshake refused" in lines[0]


def test_run_task_longer_than_shutdown_timeout_keeps_its_record(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    """Before, the deadline of `run-task` started at start-up: a run longer than
    SHUTDOWN_TIMEOUT left nothing for flushing its record, which was dropped."""
    task = spawn_worker(
        "run-task",
        "probe-slow",
        "--app",
        "tests.apps.custom:Container",
        PROBE_SLOW_SECONDS="1.5",
        SHUTDOWN_TIMEOUT="1",
    )
    assert task.wait(timeout=20) == 0
    records = run_records(redis_server.client())
    assert [r["outcome"] for r in records if r["task"] == "probe-slow"] == ["ok"]


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


def test_a_leftover_heartbeat_file_with_bad_figures_does_not_stop_the_start(
    spawn_worker: Spawn, tmp_path: Path
) -> None:
    """Before, the check for a second worker read the figures unguarded: a TypeError and a
    traceback at start-up."""
    heartbeat = tmp_path / "worker.heartbeat"
    heartbeat.write_text('{"pid": 1, "time": null}')
    worker = spawn_worker(HEARTBEAT_FILE=str(heartbeat))
    worker.wait_for_log(" ready ")
    assert worker.stop() == 0
    assert "Traceback" not in worker.stderr
