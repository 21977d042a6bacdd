"""Configuration errors as an operator reads them: one line (or one JSON object with
LOG_FORMAT=json) naming the setting, exit 78; a wrong task name lists the known tasks;
schedule settings out of range are refused with their own message."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import RedisServer, WorkerProcess, finished

Spawn = Callable[..., WorkerProcess]
KNOWN_TASKS = ("crypto-trigger", "health-check", "cleanup")


def stderr_lines(process: WorkerProcess) -> list[str]:
    return [line for line in process.stderr.splitlines() if line.strip()]


# An empty COINS (before: accepted, coin-sync enqueued nothing).


@pytest.mark.parametrize("coins", ["", " , "])
def test_an_empty_coins_is_a_configuration_error(spawn_worker: Spawn, coins: str) -> None:
    process = spawn_worker("list", COINS=coins)
    assert process.wait(timeout=30) == 78, process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert "COINS" in lines[0]
    assert "at least one coin" in lines[0]


JSON_ERRORS = [
    ({"SHUTDOWN_TIMEOUT": "abc"}, "SHUTDOWN_TIMEOUT"),
    ({"SCHEDULE_NOPE": "1m"}, "SCHEDULE_NOPE"),
]


@pytest.mark.parametrize(("env", "variable"), JSON_ERRORS, ids=[v for _, v in JSON_ERRORS])
@pytest.mark.parametrize("command", ["run", "check", "list"])
def test_config_error_is_one_json_line_with_log_format_json(
    spawn_worker: Spawn, env: dict[str, str], variable: str, command: str
) -> None:
    process = finished(spawn_worker, command, LOG_FORMAT="json", **env)

    assert process.process.returncode == 78
    lines = stderr_lines(process)
    assert len(lines) == 1, process.stderr
    record = json.loads(lines[0])
    assert record["level"] == "ERROR"
    assert record["message"].startswith(f"{variable}: ")
    assert process.stdout == ""


@pytest.mark.parametrize(("env", "variable"), JSON_ERRORS, ids=[v for _, v in JSON_ERRORS])
def test_config_error_is_json_with_log_format_json_in_dotenv(
    spawn_worker: Spawn, tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    (tmp_path / ".env").write_text("LOG_FORMAT=json\n")

    process = finished(spawn_worker, "run", **env)

    assert process.process.returncode == 78
    lines = stderr_lines(process)
    assert len(lines) == 1, process.stderr
    record = json.loads(lines[0])
    assert record["level"] == "ERROR"
    assert variable in record["message"]


@pytest.mark.parametrize(("env", "variable"), JSON_ERRORS, ids=[v for _, v in JSON_ERRORS])
def test_config_error_in_text_format_is_unchanged(
    spawn_worker: Spawn, env: dict[str, str], variable: str
) -> None:
    process = finished(spawn_worker, "run", **env)

    assert process.process.returncode == 78
    assert stderr_lines(process) == [process.stderr.strip()]
    assert process.stderr.startswith(f"worker: error: {variable}: ")


def test_unknown_schedule_setting_lists_the_known_tasks(spawn_worker: Spawn) -> None:
    process = finished(spawn_worker, "run", SCHEDULE_NOPE="1m")

    assert process.process.returncode == 78
    assert "SCHEDULE_NOPE" in process.stderr
    for name in KNOWN_TASKS:
        assert name in process.stderr


def test_unknown_task_on_the_command_line_lists_the_known_tasks(spawn_worker: Spawn) -> None:
    process = finished(spawn_worker, "run-task", "nope")

    assert process.process.returncode == 2
    assert "'nope'" in process.stderr
    for name in KNOWN_TASKS:
        assert name in process.stderr
    assert "Traceback" not in process.stderr


REFUSED_SCHEDULES = [
    ("SCHEDULE_CRYPTO_TRIGGER", "-5s", ("negative", "must be > 0")),
    ("SCHEDULE_CRYPTO_TRIGGER", "0s", ("must be greater than 0",)),
    ("SCHEDULE_HEALTH_CHECK", "1ms", ("under 1s", "1m?")),
    ("SCHEDULE_HEALTH_CHECK", "0.5s", ("under 1s",)),
]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    REFUSED_SCHEDULES,
    ids=[f"{v}={x}" for v, x, _ in REFUSED_SCHEDULES],
)
def test_schedule_setting_out_of_range_is_refused_with_its_own_message(
    spawn_worker: Spawn, variable: str, value: str, expected: tuple[str, ...]
) -> None:
    process = finished(spawn_worker, "run", **{variable: value})

    assert process.process.returncode == 78
    lines = stderr_lines(process)
    assert len(lines) == 1, process.stderr
    assert lines[0].startswith(f"worker: error: {variable}: ")
    for text in expected:
        assert text in lines[0]
    assert "field" not in lines[0], "not read as a cron expression"


@pytest.mark.parametrize(("value", "shown"), [("1s", "every 1s"), ("* * * * * *", "* * * * * *")])
def test_schedule_setting_of_a_second_is_accepted(
    spawn_worker: Spawn, value: str, shown: str
) -> None:
    listed = finished(spawn_worker, "list", "--json", SCHEDULE_HEALTH_CHECK=value)

    assert listed.process.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["health-check"]["schedule"] == shown


@pytest.mark.parametrize("command", ["run", "list", "check"])
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'LOG_LEVEL=INFO\nREDIS_URL="redis://elsewhere:6379/0\n', "line 2 cannot be parsed"),
        (b"LOG_LEVEL=INFO\nREDIS_URL=redis://caf\xe9:6379/0\n", "not valid UTF-8"),
    ],
    ids=["unterminated-quote", "not-utf8"],
)
def test_a_dotenv_that_cannot_be_read_whole_is_one_line_and_78(
    spawn_worker: Spawn, tmp_path: Path, content: bytes, problem: str, command: str
) -> None:
    """Before: a line with an unterminated quote was dropped with a python-dotenv warning
    (three times) and the worker went on with the default Redis; a non-UTF-8 file was a
    30-line traceback and exit 1."""
    (tmp_path / ".env").write_bytes(content)

    process = finished(spawn_worker, command)

    assert process.process.returncode == 78, process.stderr
    lines = stderr_lines(process)
    assert len(lines) == 1, process.stderr
    assert f"{tmp_path / '.env'}: {problem}" in lines[0]
    assert "Traceback" not in process.stderr


@pytest.mark.parametrize("command", ["run", "check", "run-task"])
def test_a_database_the_server_does_not_have_is_one_line_and_78(
    spawn_worker: Spawn, redis_server: RedisServer, command: str
) -> None:
    """Before: `run` printed `ready`, then 13 tracebacks in 6 s, and went on."""
    url = redis_server.url.rpartition("/")[0] + "/16"
    args = (command, "health-check") if command == "run-task" else (command,)

    process = finished(spawn_worker, *args, redis=url)

    assert process.process.returncode == 78, process.stderr
    lines = stderr_lines(process)
    assert len(lines) == 1, process.stderr
    assert "REDIS_URL" in lines[0]
    assert "DB index is out of range" in lines[0]
