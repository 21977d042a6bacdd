"""Promise 7: the Redis password never appears in logs, errors or command output, through
auth failures and outages; ACL usernames are accepted."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support import RedisServer, WorkerProcess

Spawn = Callable[..., WorkerProcess]
PASSWORD = "Tr1cky-p@ss/word"
QUOTED = "Tr1cky-p%40ss%2Fword"


@pytest.fixture
def locked() -> Iterator[RedisServer]:
    server = RedisServer(password=PASSWORD)
    server.start()
    yield server
    server.stop()


def url(server: RedisServer, password: str = QUOTED, user: str = "") -> str:
    return f"redis://{user}:{password}@127.0.0.1:{server.port}/0"


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text
        assert QUOTED not in text
        assert "p@ss" not in text


def test_password_absent_from_logs_through_an_outage_at_trace_level(
    spawn_worker: Spawn, locked: RedisServer
) -> None:
    worker = spawn_worker(
        redis=url(locked), LOG_LEVEL="TRACE", SCHEDULE_CRYPTO_TRIGGER="* * * * * *"
    )
    worker.wait_for_log("task=crypto-trigger outcome=ok")
    locked.kill()
    worker.wait_for_log("outage started")
    locked.start()
    worker.wait_for_log("outage ended")
    assert worker.stop() == 0
    assert_no_secret(worker.stderr, worker.stdout)


def test_wrong_password_at_start_is_one_line_exit_78_without_the_password(
    spawn_worker: Spawn, locked: RedisServer
) -> None:
    # A restart would not fix a refused password: `run` fails as `check` does.
    wrong = url(locked, password=QUOTED + "x")
    worker = spawn_worker(redis=wrong, LOG_LEVEL="TRACE", SCHEDULE_CRYPTO_TRIGGER="* * * * * *")
    assert worker.wait() == 78
    errors = [line for line in worker.stderr.splitlines() if line.startswith("worker: error:")]
    assert len(errors) == 1
    assert "REDIS_URL" in errors[0]
    assert "authentication failed" in errors[0]
    assert "Traceback" not in worker.stderr
    assert_no_secret(worker.stderr, worker.stdout)


@pytest.mark.parametrize("command", ["check", "status", "run-task"])
def test_commands_with_a_wrong_password_print_no_secret(
    spawn_worker: Spawn, locked: RedisServer, command: str
) -> None:
    args = [command, "crypto-trigger"] if command == "run-task" else [command]
    process = spawn_worker(*args, redis=url(locked, password=QUOTED + "x"), SHUTDOWN_TIMEOUT="1")
    code = process.wait()
    assert code == 78  # a refused password is bad configuration, for run-task too
    assert_no_secret(process.stderr, process.stdout)


def test_invalid_url_error_does_not_echo_the_password(spawn_worker: Spawn) -> None:
    process = spawn_worker("check", redis=f"redis://u:{QUOTED}@127.0.0.1:notaport/0")
    assert process.wait() == 78
    assert "REDIS_URL" in process.stderr
    assert_no_secret(process.stderr, process.stdout)


def test_acl_username_is_accepted(spawn_worker: Spawn, locked: RedisServer) -> None:
    locked.client().acl_setuser(
        "alice",
        enabled=True,
        passwords=["+alice-pw"],
        keys=["*"],
        channels=["*"],
        commands=["+@all"],
    )
    process = spawn_worker("check", redis=url(locked, password="alice-pw", user="alice"))
    assert process.wait() == 0
    assert "alice:***@" in process.stdout
    assert "alice-pw" not in process.stdout + process.stderr
