"""`python -m worker` as a real process against the suite's redis-server."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import datetime
from itertools import pairwise
from pathlib import Path

from tests.support import (
    RedisServer,
    WorkerProcess,
    run_records,
    start_slow_run,
    subscribed,
    texts,
    wait_for,
)

Spawn = Callable[..., WorkerProcess]
EVERY_SECOND = {"SCHEDULE_CRYPTO_TRIGGER": "* * * * * *"}
CUSTOM = ("--app", "tests.apps.custom:Container")


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_trigger_is_published_once_per_second_with_the_contract_payload(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    with subscribed(redis_server, "crypto-update") as subscriber:
        worker = spawn_worker(**EVERY_SECOND)
        messages = subscriber.wait_count(4)
        assert worker.stop() == 0
    payloads = [m.data for m in messages]
    for payload in payloads:
        assert set(payload) == {"trigger", "event", "timestamp", "scheduled_for", "id"}
        assert payload["trigger"] == "update"
        assert payload["event"] == "CRYPTO_UPDATE"
        assert payload["id"] == f"crypto-trigger:{payload['scheduled_for']}"
        assert payload["scheduled_for"].endswith(":00Z") or len(payload["scheduled_for"]) == 20
        assert parse(payload["timestamp"]) >= parse(payload["scheduled_for"])
    seconds = [parse(p["scheduled_for"]).timestamp() for p in payloads]
    assert [b - a for a, b in pairwise(seconds)] == [1.0] * (len(seconds) - 1)
    for message in messages:
        lag = message.received - parse(message.data["scheduled_for"]).timestamp()
        assert 0 <= lag < 0.5


def test_sigterm_exits_zero_and_logs_shutdown(spawn_worker: Spawn) -> None:
    worker = spawn_worker()
    worker.wait_for_log(" ready ")
    started = time.monotonic()
    assert worker.stop() == 0
    assert time.monotonic() - started < 2
    assert "shutdown started signal=SIGTERM" in worker.stderr
    assert "shutdown complete" in worker.stderr
    assert "Traceback" not in worker.stderr


def test_sighup_stops_gracefully_as_sigterm_does(spawn_worker: Spawn) -> None:
    """A closed terminal or a supervisor sends SIGHUP: before, it ended the worker at once,
    with no shutdown."""
    worker = spawn_worker()
    worker.wait_for_log(" ready ")
    worker.signal(signal.SIGHUP)
    assert worker.wait(timeout=10) == 0
    assert "shutdown started signal=SIGHUP" in worker.stderr
    assert "shutdown complete" in worker.stderr


def test_sigterm_while_a_slow_task_runs_lets_the_run_complete(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    worker = start_slow_run(spawn_worker, client, PROBE_SLOW_SECONDS="1.5")
    assert worker.stop() == 0
    assert client.lrange("probe:slow", 0, -1) == [b"started", b"finished"]
    assert "task=probe-slow outcome=ok" in worker.stderr


def test_a_user_task_added_with_one_decorated_method_fires(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    worker = spawn_worker(*CUSTOM)
    wait_for(lambda: client.llen("probe:ticks") >= 3, what="three probe ticks")
    ids = texts(client.lrange("probe:ticks", 0, -1))
    assert all(i.startswith("probe-tick:") and i.endswith("Z") for i in ids)
    assert worker.stop() == 0


def test_lifecycle_hooks_run_once_each_in_order(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    worker = spawn_worker(*CUSTOM)
    wait_for(lambda: client.llen("probe:hooks") == 1, what="startup hook")
    assert worker.stop() == 0
    assert texts(client.lrange("probe:hooks", 0, -1)) == ["startup", "second-shutdown", "shutdown"]


def test_scheduler_registry_pauses_and_resumes_a_task(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    worker = spawn_worker(*CUSTOM)
    wait_for(lambda: client.llen("probe:ticks") >= 2, what="ticks before pause")
    client.rpush("probe:commands", "pause")
    wait_for(lambda: client.lrange("probe:events", 0, -1) == [b"paused"], what="pause")
    paused_at = client.llen("probe:ticks")
    wait_for(lambda: client.llen("probe:ticks") >= paused_at + 3, what="ticks after resume")
    stamps = [parse(i.split(":", 1)[1]) for i in texts(client.lrange("probe:ticks", 0, -1))]
    gaps = [(b - a).total_seconds() for a, b in pairwise(stamps)]
    assert max(gaps) >= 0.9, "no fire while paused (1 s) on a 200 ms schedule"
    assert min(gaps) < 0.3
    assert worker.stop() == 0


def test_health_follows_the_heartbeat_file(spawn_worker: Spawn) -> None:
    assert spawn_worker("health").wait() == 1
    worker = spawn_worker()
    worker.wait_for_log(" ready ")
    check = spawn_worker("health")
    assert check.wait() == 0
    assert "healthy" in check.stdout
    assert worker.stop() == 0
    assert spawn_worker("health").wait() == 1


def test_health_is_unhealthy_when_the_heartbeat_is_stale(spawn_worker: Spawn) -> None:
    worker = spawn_worker(HEARTBEAT_INTERVAL="1")
    worker.wait_for_log(" ready ")
    worker.signal(signal.SIGSTOP)
    try:
        wait_for(
            lambda: spawn_worker("health", HEARTBEAT_INTERVAL="1").wait() == 1,
            timeout=5,
            what="stale heartbeat",
        )
    finally:
        worker.signal(signal.SIGCONT)
    assert worker.stop() == 0


def test_json_log_format_makes_every_line_one_json_object(spawn_worker: Spawn) -> None:
    worker = spawn_worker(LOG_FORMAT="json", **EVERY_SECOND)
    worker.wait_for_log('"message": "run"')
    assert worker.stop() == 0
    lines = worker.stderr.splitlines()
    records = worker.log_records()
    assert len(records) == len(lines) > 3
    run = next(r for r in records if r["message"] == "run")
    assert run["task"] == "crypto-trigger"
    assert run["outcome"] == "ok"
    assert {"time", "level", "scheduled_for", "lag_ms", "duration_ms"} <= set(run)


def test_failing_startup_hook_exits_one_with_one_error_line_and_cleans_up(
    spawn_worker: Spawn, redis_server: RedisServer, tmp_path: Path
) -> None:
    worker = spawn_worker(*CUSTOM, PROBE_FAIL_STARTUP="1")
    assert worker.wait() == 1
    assert "worker: error: SecondService.on_startup failed: RuntimeError: cannot start" in (
        worker.stderr
    )
    client = redis_server.client()
    assert texts(client.lrange("probe:hooks", 0, -1)) == ["startup", "second-shutdown", "shutdown"]
    assert not (tmp_path / "worker.heartbeat").exists()


def test_heartbeat_file_that_cannot_be_written_is_logged_and_the_worker_goes_on(
    spawn_worker: Spawn, tmp_path: Path
) -> None:
    folder = tmp_path / "beats"
    worker = spawn_worker(HEARTBEAT_FILE=str(folder / "hb"), HEARTBEAT_INTERVAL="1")
    worker.wait_for_log(" ready ")
    (folder / "hb").unlink()
    folder.rmdir()
    folder.write_text("not a folder")
    worker.wait_for_log("heartbeat file not written")
    folder.unlink()
    worker.wait_for_log("heartbeat file written again")
    assert worker.stop() == 0
    assert worker.stderr.count("heartbeat file not written") == 1


def test_a_plain_hook_that_blocks_cannot_hold_the_process(spawn_worker: Spawn) -> None:
    worker = spawn_worker(*CUSTOM, PROBE_BLOCK_STARTUP="1", SHUTDOWN_TIMEOUT="1")
    assert worker.wait(timeout=10) == 1
    assert "SecondService.on_startup failed: TimeoutError" in worker.stderr


def test_the_ready_line_names_the_redis_it_reached_without_its_password(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    url = redis_server.url.replace("redis://", "redis://:hunter22@")  # a password it ignores
    worker = spawn_worker(LOG_FORMAT="json", redis=url)
    worker.wait_for_log('"message": "ready"')
    assert worker.stop() == 0
    ready = next(r for r in worker.log_records() if r["message"] == "ready")
    assert ready["redis"] == url.replace("hunter22", "***")
    assert ready["redis_state"] == "up"
    assert "hunter22" not in worker.stderr


def test_tasks_raising_systemexit_or_any_baseexception_fail_and_the_worker_goes_on(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    worker = spawn_worker("--app", "tests.apps.exits:Container")
    for task in ("exits", "interrupts", "booms"):
        worker.wait_for_log(f"task={task} outcome=failed")
    wait_for(  # and again the next second: the replica lives on
        lambda: worker.stderr.count("task=exits outcome=failed") >= 2,
        timeout=5,
        what="a second run",
    )
    assert worker.process.poll() is None, "the worker is still running"
    assert worker.stop() == 0
    client = redis_server.client()
    errors = {r["task"]: r["error"] for r in run_records(client)}
    assert errors["exits"] == "SystemExit: 3"
    assert errors["interrupts"] == "KeyboardInterrupt"
    assert errors["booms"] == "Boom: boom"
