"""`worker dev` (= `worker run --reload`): a real watcher over a temporary application directory.

The application is one file, `mymod.py`, in the test's working directory: its task writes
the pid of the process that ran it to a Redis list, so the test sees which process runs the
edited schedule. Logs are JSON (LOG_FORMAT=json), so the watcher's lines are checked as such.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
import redis

from tests.support import WorkerProcess, texts, wait_for, worker_env

APP = """\
import os

from dependency_injector import providers

from worker import FrameworkContainer, interval


class Tasks:
    def __init__(self, redis) -> None:
        self._redis = redis

    @interval("{every}", name="beat", scope="instance")
    async def beat(self) -> None:
        await self._redis.rpush("beat", str(os.getpid()))


class Container(FrameworkContainer):
    tasks = providers.Singleton(Tasks, FrameworkContainer.redis)
"""


def messages(process: WorkerProcess) -> list[str]:
    return [record["message"] for record in process.log_records()]


def count(process: WorkerProcess, message: str) -> int:
    return sum(1 for found in messages(process) if found == message)


def child_pid(process: WorkerProcess) -> int:
    children = wait_for(lambda: psutil.Process(process.process.pid).children(), what="a child")
    assert len(children) == 1
    return children[0].pid


@pytest.mark.slow
def test_a_save_restarts_the_worker_with_the_new_schedule(
    tmp_path: Path, spawn_worker: Callable[..., WorkerProcess], redis_url: str
) -> None:
    app = tmp_path / "mymod.py"
    app.write_text(APP.format(every="1h"))
    client = redis.Redis.from_url(redis_url)
    dev = spawn_worker("dev", "--app", "mymod:Container", LOG_FORMAT="json", SHUTDOWN_TIMEOUT="3")
    wait_for(lambda: count(dev, "ready") == 1, what="the first ready")
    assert client.llen("beat") == 0  # hourly: nothing ran
    edit_the_schedule(dev, app, client)
    last = syntax_error_then_fix(dev, app)

    dev.signal(signal.SIGINT)
    assert dev.wait(timeout=20) == 0, dev.stderr
    assert not psutil.pid_exists(last)
    assert count(dev, "shutdown complete") == 3
    assert messages(dev)[-1] == "watcher stopped"
    assert all(line.startswith("{") for line in dev.stderr.splitlines())


def edit_the_schedule(dev: WorkerProcess, app: Path, client: redis.Redis) -> None:
    """Hourly → every 300 ms: a new process, which runs it; the old one stopped gracefully."""
    first = child_pid(dev)
    app.write_text(APP.format(every="300ms"))
    wait_for(lambda: count(dev, "ready") == 2, what="ready after the save")
    second = child_pid(dev)
    assert second != first
    assert not psutil.pid_exists(first)
    assert count(dev, "shutdown complete") == 1  # the old process' graceful stop: exit 0
    wait_for(lambda: client.llen("beat") >= 2, what="runs on the new schedule")
    assert set(texts(client.lrange("beat", 0, -1))) == {str(second)}
    reloads = [r for r in dev.log_records() if r["message"].startswith("change detected")]
    assert [r["changed"] for r in reloads] == ["mymod.py"]


def syntax_error_then_fix(dev: WorkerProcess, app: Path) -> int:
    """One line for the error, the watcher still there; the fix brings a worker back (its pid)."""
    app.write_text(APP.format(every="300ms") + "\ndef broken(:\n")
    wait_for(lambda: any("SyntaxError" in m for m in messages(dev)), what="the syntax error")
    assert sum("SyntaxError" in m for m in messages(dev)) == 1
    assert dev.process.poll() is None  # the watcher waits for the next save

    app.write_text(APP.format(every="300ms"))
    wait_for(lambda: count(dev, "ready") == 3, what="ready after the fix")
    assert count(dev, "change detected: restarting the worker") == 3
    return child_pid(dev)


def test_run_reload_is_dev_and_sigterm_stops_it(
    tmp_path: Path, spawn_worker: Callable[..., WorkerProcess]
) -> None:
    (tmp_path / "mymod.py").write_text(APP.format(every="1h"))
    dev = spawn_worker("--app", "mymod:Container", "run", "--reload", SHUTDOWN_TIMEOUT="3")
    dev.wait_for_log(" ready ")
    child = child_pid(dev)
    assert f"path={tmp_path.resolve()}" in dev.stderr
    assert dev.stop(timeout=20) == 0, dev.stderr
    assert not psutil.pid_exists(child)
    assert "shutdown complete" in dev.stderr


IGNORING_SIGINT = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "os.execv(sys.argv[1], sys.argv[1:])",
]
"""Runs the command with SIGINT ignored, as a shell starts a job it puts in the background."""


def test_sigint_stops_dev_even_when_it_started_with_sigint_ignored(
    tmp_path: Path, redis_url: str
) -> None:
    (tmp_path / "mymod.py").write_text(APP.format(every="1h"))
    env = worker_env(redis_url, SHUTDOWN_TIMEOUT="3", HEARTBEAT_FILE=str(tmp_path / "hb"))
    dev = WorkerProcess(["dev", "--app", "mymod:Container"], env, tmp_path, IGNORING_SIGINT)
    try:
        dev.wait_for_log(" ready ")
        child = child_pid(dev)
        dev.signal(signal.SIGINT)
        assert dev.wait(timeout=20) == 0, dev.stderr
        assert not psutil.pid_exists(child)
        assert "shutdown complete" in dev.stderr
    finally:
        dev.close()


def test_sighup_stops_dev_and_its_worker(tmp_path: Path, redis_url: str) -> None:
    """A closed terminal sends SIGHUP: the watcher and its worker stop as on Ctrl-C."""
    (tmp_path / "mymod.py").write_text(APP.format(every="1h"))
    env = worker_env(redis_url, SHUTDOWN_TIMEOUT="3", HEARTBEAT_FILE=str(tmp_path / "hb"))
    dev = WorkerProcess(["dev", "--app", "mymod:Container"], env, tmp_path)
    try:
        dev.wait_for_log(" ready ")
        child = child_pid(dev)
        dev.signal(signal.SIGHUP)
        assert dev.wait(timeout=20) == 0, dev.stderr
        assert not psutil.pid_exists(child)
        assert "shutdown complete" in dev.stderr
    finally:
        dev.close()


def test_without_watchfiles_dev_is_a_one_line_error(redis_url: str, tmp_path: Path) -> None:
    code = "import sys; sys.modules['watchfiles'] = None; from worker.cli.main import main; "
    code += "raise SystemExit(main(['dev']))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=worker_env(redis_url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 78
    assert done.stderr.splitlines() == [
        "worker: error: worker dev needs watchfiles: pip install -c requirements.lock '.[reload]'"
    ]
