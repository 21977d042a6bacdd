"""The CLI's commands and exit codes, as a user or a script runs them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.support import (
    RedisServer,
    WorkerProcess,
    free_port,
    status_when,
    subscribed,
    task_of,
    wait_for,
)

Spawn = Callable[..., WorkerProcess]
CUSTOM = ("--app", "tests.apps.custom:Container")
UNREACHABLE = f"redis://127.0.0.1:{free_port()}/0"
SECRET = "s3cr3t-pw"


@pytest.fixture(scope="module")
def locked_redis() -> Iterator[RedisServer]:
    server = RedisServer(password=SECRET)
    server.start()
    yield server
    server.stop()


def parse_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def run(spawn: Spawn, *args: str, redis: str | None = None, **env: str) -> WorkerProcess:
    process = spawn(*args, redis=redis, **env)
    process.wait(timeout=30)
    return process


def test_list_json_is_an_array_with_the_contract_fields(spawn_worker: Spawn) -> None:
    listed = run(spawn_worker, "list", "--json", DISABLED_TASKS="cleanup")
    assert listed.process.returncode == 0
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == {"crypto-trigger", "health-check", "cleanup", "coin-sync"}
    trigger = rows["crypto-trigger"]
    assert trigger["schedule"] == "*/15 * * * *"
    assert trigger["scope"] == "cluster"
    assert trigger["time_limit"] is None
    assert trigger["next_fire"].endswith(("00Z", "15:00Z", "30:00Z", "45:00Z"))
    assert rows["health-check"]["time_limit"] == 10
    assert rows["cleanup"]["disabled"] is True
    assert rows["cleanup"]["next_fire"] is None


def test_list_shows_the_effective_schedule(spawn_worker: Spawn) -> None:
    listed = run(spawn_worker, "list", SCHEDULE_CRYPTO_TRIGGER="90s")
    assert listed.process.returncode == 0
    line = next(x for x in listed.stdout.splitlines() if x.startswith("crypto-trigger"))
    assert "every 90s" in line
    assert "cluster" in line


def test_list_text_shows_the_next_fire_in_the_tasks_zone(spawn_worker: Spawn) -> None:
    listed = run(spawn_worker, "list", WORKER_TIMEZONE="Asia/Kolkata")
    assert listed.process.returncode == 0
    line = next(x for x in listed.stdout.splitlines() if x.startswith("crypto-trigger"))
    assert line.endswith(("00:00+05:30", "15:00+05:30", "30:00+05:30", "45:00+05:30"))


def test_list_works_with_app_after_the_command(spawn_worker: Spawn) -> None:
    listed = run(spawn_worker, "list", *CUSTOM)
    assert listed.process.returncode == 0
    assert "probe-tick" in listed.stdout


def test_run_task_runs_once_and_exits_zero(spawn_worker: Spawn, redis_server: RedisServer) -> None:
    with subscribed(redis_server, "crypto-update") as subscriber:
        task = run(spawn_worker, "run-task", "crypto-trigger")
        assert task.process.returncode == 0
        messages = subscriber.wait_count(1)
    assert messages[0].data["id"].startswith("crypto-trigger:")
    assert len(subscriber.messages) == 1


def test_run_task_of_a_failing_task_exits_one(spawn_worker: Spawn) -> None:
    task = run(spawn_worker, *CUSTOM, "run-task", "probe-fail")
    assert task.process.returncode == 1
    assert "RuntimeError: probe failure" in task.stderr


def test_run_task_with_an_unknown_name_exits_two(spawn_worker: Spawn) -> None:
    task = run(spawn_worker, "run-task", "crypto-trigga")
    assert task.process.returncode == 2
    assert "unknown task 'crypto-trigga'" in task.stderr
    assert "Traceback" not in task.stderr


def test_run_task_with_redis_unreachable_fails_at_once_with_exit_69(spawn_worker: Spawn) -> None:
    started = time.monotonic()
    task = spawn_worker("run-task", "crypto-trigger", redis=UNREACHABLE)
    assert task.wait(timeout=10) == 69
    assert time.monotonic() - started < 5, "no wait for SHUTDOWN_TIMEOUT"
    lines = [line for line in task.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, task.stderr
    assert lines[0].startswith("worker: error: REDIS_URL: cannot reach redis")
    assert "cancel" not in task.stderr


def test_run_task_on_sigterm_logs_shutdown_and_keeps_the_deadline(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    task = spawn_worker(
        "run-task", "probe-slow", *CUSTOM, PROBE_SLOW_SECONDS="30", SHUTDOWN_TIMEOUT="2"
    )
    client = redis_server.client()
    wait_for(lambda: client.lrange("probe:slow", 0, -1) == [b"started"], what="the slow run")
    started = time.monotonic()
    task.signal()
    assert task.wait(timeout=10) == 1
    assert time.monotonic() - started < 3
    assert "shutdown started signal=SIGTERM" in task.stderr
    assert "outcome=cancelled" in task.stderr


def test_status_json_reports_instances_and_last_runs(spawn_worker: Spawn) -> None:
    worker = spawn_worker(SCHEDULE_CRYPTO_TRIGGER="* * * * * *")
    worker.wait_for_log("task=crypto-trigger outcome=ok")
    report = status_when(spawn_worker, lambda r: task_of(r, "crypto-trigger")["outcome"] == "ok")
    assert worker.stop() == 0
    assert len(report["instances"]) == 1
    tasks = {t["name"]: t for t in report["tasks"]}
    trigger = tasks["crypto-trigger"]
    assert trigger["outcome"] == "ok"
    assert trigger["consecutive_failures"] == 0
    assert trigger["duration_ms"] >= 0
    assert trigger["last_run"]
    assert trigger["next_fire"]
    assert tasks["cleanup"]["last_run"] is None


def test_status_shows_the_schedule_and_next_fire_the_fleet_runs_not_its_own_settings(
    spawn_worker: Spawn,
) -> None:
    """The CLI may run without the fleet's SCHEDULE_*: status reads the schedule from the
    replicas' records (before: its own default, a next fire at the quarter hour)."""
    worker = spawn_worker(SCHEDULE_CRYPTO_TRIGGER="*/2 * * * * *", HEARTBEAT_INTERVAL="30")
    worker.wait_for_log("task=crypto-trigger outcome=ok")
    report = status_when(spawn_worker, lambda r: task_of(r, "crypto-trigger")["outcome"] == "ok")
    assert worker.stop() == 0
    trigger = task_of(report, "crypto-trigger")
    assert trigger["schedule"] == "*/2 * * * * *"
    next_fire = parse_time(trigger["next_fire"])
    assert next_fire.second % 2 == 0
    assert 0 <= next_fire.timestamp() - time.time() <= 2.5


def test_status_exits_69_when_redis_is_unreachable(spawn_worker: Spawn) -> None:
    status = run(spawn_worker, "status", redis=UNREACHABLE)
    assert status.process.returncode == 69
    assert "cannot reach redis" in status.stderr


def test_check_exits_zero_when_everything_is_fine(spawn_worker: Spawn) -> None:
    check = run(spawn_worker, "check")
    assert check.process.returncode == 0
    assert check.stdout.startswith("ok:")


def test_check_exits_69_when_redis_is_unreachable(spawn_worker: Spawn) -> None:
    assert run(spawn_worker, "check", redis=UNREACHABLE).process.returncode == 69


def test_check_exits_78_on_a_wrong_password_without_printing_it(
    spawn_worker: Spawn, locked_redis: RedisServer
) -> None:
    url = f"redis://:wrong-{SECRET}@127.0.0.1:{locked_redis.port}/0"
    check = run(spawn_worker, "check", redis=url)
    assert check.process.returncode == 78
    assert "authentication failed" in check.stderr
    assert SECRET not in check.stderr + check.stdout


def test_check_accepts_the_right_password(spawn_worker: Spawn, locked_redis: RedisServer) -> None:
    check = run(spawn_worker, "check", redis=locked_redis.url)
    assert check.process.returncode == 0
    assert SECRET not in check.stdout + check.stderr


BAD_SETTINGS = [
    ({"REDIS_URL": f"http://user:{SECRET}@localhost/0"}, "REDIS_URL"),
    ({"SCHEDULE_CRYPTO_TRIGGER": "61 * * * *"}, "SCHEDULE_CRYPTO_TRIGGER"),
    ({"SCHEDULE_HEALTH_CHECK": "5x"}, "SCHEDULE_HEALTH_CHECK"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
    ({"SHUTDOWN_TIMEOUT": "-1"}, "SHUTDOWN_TIMEOUT"),
    ({"WORKER_TIMEZONE": "Mars/Olympus"}, "WORKER_TIMEZONE"),
    ({"RUN_HISTORY_MAXLEN": "lots"}, "RUN_HISTORY_MAXLEN"),
    ({"CLEANUP_RETENTION_DAYS": "0"}, "CLEANUP_RETENTION_DAYS"),
    ({"SCHEDULE_CRYPTO_TRIGER": "1m"}, "SCHEDULE_CRYPTO_TRIGER"),
    ({"DISABLED_TASKS": "cleanup,nope"}, "DISABLED_TASKS"),
    ({"TASK_TIME_LIMIT_CLEANUP": "soon"}, "TASK_TIME_LIMIT_CLEANUP"),
    ({"WORKER_APP": "no_such_module:Container"}, "WORKER_APP"),
    ({"WORKER_APP": "container:Nope"}, "WORKER_APP"),
    ({"HEARTBEAT_FILE": "/proc/no-such-dir/worker.heartbeat"}, "HEARTBEAT_FILE"),
    ({"REDIS_URL": f"redis://:{SECRET}@127.0.0.1:6379/0?socket_timeout=abc"}, "REDIS_URL"),
    ({"MISFIRE_GRACE": "0"}, "MISFIRE_GRACE"),
    ({"SCHEDULE_CLEANUP": "99999999999h"}, "SCHEDULE_CLEANUP"),
]


@pytest.mark.parametrize(("env", "variable"), BAD_SETTINGS, ids=[v for _, v in BAD_SETTINGS])
@pytest.mark.parametrize("command", ["run", "check"])
def test_bad_setting_exits_78_with_one_line_naming_it(
    spawn_worker: Spawn, env: dict[str, str], variable: str, command: str
) -> None:
    settings = dict(env)
    redis = settings.pop("REDIS_URL", None)
    process = run(spawn_worker, command, redis=redis, **settings)
    assert process.process.returncode == 78
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert variable in lines[0]
    assert "Traceback" not in process.stderr
    assert SECRET not in process.stderr + process.stdout


def test_bad_app_given_with_the_flag_exits_78(spawn_worker: Spawn) -> None:
    process = run(spawn_worker, "--app", "tests.apps.missing:Container", "list")
    assert process.process.returncode == 78
    assert "--app: cannot import" in process.stderr


def test_an_app_that_is_no_container_exits_78_naming_it(spawn_worker: Spawn) -> None:
    process = run(spawn_worker, "--app", "tests.apps.custom:ProbeTasks", "list")
    assert process.process.returncode == 78
    assert "is not a dependency-injector container" in process.stderr
    assert "Traceback" not in process.stderr


def test_dotenv_in_the_working_directory_is_read(spawn_worker: Spawn, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SCHEDULE_CRYPTO_TRIGGER=45s\nDISABLED_TASKS=cleanup\n")
    listed = run(spawn_worker, "list", "--json")
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["crypto-trigger"]["schedule"] == "every 45s"
    assert rows["cleanup"]["disabled"] is True


def test_version_and_help_exit_zero(spawn_worker: Spawn) -> None:
    assert run(spawn_worker, "--version").stdout.startswith("worker ")
    for command in ("run", "list", "run-task", "status", "health", "check"):
        helped = run(spawn_worker, command, "--help")
        assert helped.process.returncode == 0
        assert "usage:" in helped.stdout


def test_unknown_command_is_a_usage_error(spawn_worker: Spawn) -> None:
    assert run(spawn_worker, "fly").process.returncode == 2


def test_run_task_beside_a_running_worker_leaves_its_heartbeat_alone(
    spawn_worker: Spawn, tmp_path: Path
) -> None:
    worker = spawn_worker()
    worker.wait_for_log(" ready ")
    assert run(spawn_worker, "run-task", "health-check").process.returncode == 0
    assert (tmp_path / "worker.heartbeat").exists()
    assert run(spawn_worker, "health").process.returncode == 0
    assert worker.stop() == 0


def test_unix_socket_url_works_for_check_and_run_task(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    url = f"unix://{redis_server.socket}?db=0"
    assert run(spawn_worker, "check", redis=url).process.returncode == 0
    task = run(spawn_worker, "run-task", "crypto-trigger", redis=url)
    assert task.process.returncode == 0
    assert "Traceback" not in task.stderr


def test_database_out_of_range_is_a_config_error(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    check = run(spawn_worker, "check", redis=f"redis://127.0.0.1:{redis_server.port}/99")
    assert check.process.returncode == 78
    assert "REDIS_URL" in check.stderr


def test_status_shows_no_next_fire_when_no_instance_is_alive(spawn_worker: Spawn) -> None:
    status = run(spawn_worker, "status", "--json")
    assert status.process.returncode == 0
    report = json.loads(status.stdout)
    assert report["instances"] == []
    assert all(t["next_fire"] is None for t in report["tasks"])
