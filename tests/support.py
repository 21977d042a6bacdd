"""Real processes for the tests: a redis-server the suite owns, the worker, a subscriber."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest
import redis

from worker.connect.redis import text

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def until(condition: Callable[[], object], timeout: float = 5.0, what: str = "") -> None:
    """Poll `condition()` on the running loop until it is truthy; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        await asyncio.sleep(0.01)


def wait_for(
    condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> T:
    """Poll until `condition()` is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)


class RedisServer:
    """A redis-server on a free port; kill() and start() again on the same port for faults,
    freeze() and thaw() for a server that stops answering without closing a socket."""

    def __init__(
        self, port: int | None = None, password: str | None = None, replicaof: int | None = None
    ) -> None:
        self.port = port or free_port()
        self.password = password
        self.replicaof = replicaof
        self._dir = tempfile.mkdtemp(prefix="redis-test-")
        self.socket = f"{self._dir}/redis.sock"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, password=self.password, socket_timeout=5)

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", self._dir, "--logfile", f"{self._dir}/log"]
        args += ["--unixsocket", self.socket, "--unixsocketperm", "700"]
        if self.password:
            args += ["--requirepass", self.password]
        if self.replicaof is not None:
            args += ["--replicaof", "127.0.0.1", str(self.replicaof)]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, timeout=10, what=f"redis-server on port {self.port}")

    def kill(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)
            self._process = None

    def freeze(self) -> None:
        """SIGSTOP: connections stay open, the kernel still accepts, nothing is answered."""
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGCONT)

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False


@contextmanager
def sentinel_of(primary: RedisServer, master: str = "mymaster") -> Iterator[str]:
    """One `redis-server --sentinel` (quorum 1) that knows `primary`: its REDIS_SENTINELS."""
    port, folder = free_port(), tempfile.mkdtemp(prefix="sentinel-test-")
    conf = Path(folder) / "sentinel.conf"
    auth = f"sentinel auth-pass {master} {primary.password}\n" if primary.password else ""
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
        f"sentinel monitor {master} 127.0.0.1 {primary.port} 1\n{auth}"
    )
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    process = subprocess.Popen(
        [binary, str(conf), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    ask = redis.Redis(port=port, socket_timeout=2)

    def knows_primary() -> bool:
        try:
            return bool(ask.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", master))  # type: ignore[no-untyped-call]
        except redis.RedisError:
            return False

    try:
        wait_for(knows_primary, timeout=10, what="the sentinel")
        yield f"127.0.0.1:{port}"
    finally:
        ask.close()
        process.kill()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def worker_env(redis_url: str, **extra: str) -> dict[str, str]:
    """A clean environment: nothing of the developer's WORKER_/REDIS_ settings leaks in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SCHEDULE_", "TASK_TIME_LIMIT", "WORKER_", "REDIS_", "LOG_"))
    }
    env.update(
        REDIS_URL=redis_url,
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="DEBUG",
    )
    env.update(extra)
    return env


@dataclass
class WorkerProcess:
    """`python -m worker …` with stdout and stderr going to files the test can poll."""

    args: list[str]
    env: dict[str, str]
    cwd: Path
    launcher: list[str] = field(default_factory=list)
    """Runs the worker through this command (e.g. `faketime -f +1.5s`)."""
    process: subprocess.Popen[bytes] = field(init=False)
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.stdout_path = self.cwd / f"stdout-{id(self)}.log"
        self.stderr_path = self.cwd / f"stderr-{id(self)}.log"
        self._out = self.stdout_path.open("wb")
        self._err = self.stderr_path.open("wb")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [*self.launcher, sys.executable, "-m", "worker", *self.args],
            env=self.env,
            cwd=self.cwd,
            stdout=self._out,
            stderr=self._err,
            start_new_session=True,  # its own process group: `close` reaches all it started
        )

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 15.0) -> str:
        def seen() -> str:
            if self.process.poll() is not None and text not in self.stderr:
                raise AssertionError(f"worker exited {self.process.returncode}:\n{self.stderr}")
            return self.stderr if text in self.stderr else ""

        return wait_for(seen, timeout=timeout, what=f"log line {text!r}")

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.process.send_signal(sig)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then the exit code."""
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"still running after {timeout}s:\n{self._tree()}\n{self.stderr[-6000:]}"
            ) from None
        finally:
            self._out.close()
            self._err.close()

    def close(self) -> None:
        """Kill it if it still runs, and every process it started (its process group, also
        those whose parent is gone): nothing a failed test left behind may go on talking to
        the session's Redis."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.wait(timeout=10)

    def _tree(self) -> str:
        """This process and its descendants, a line each (for a failure's message)."""
        lines = []
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(self.process.pid)
            for process in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    lines.append(f"  {process.pid} {' '.join(process.cmdline())}")
        return "\n".join(lines)

    def log_records(self) -> list[dict[str, Any]]:
        """The stderr lines as JSON objects (for LOG_FORMAT=json runs)."""
        return [json.loads(line) for line in self.stderr.splitlines() if line.startswith("{")]


@dataclass
class Message:
    received: float
    data: dict[str, Any]


class Subscriber:
    """Collects every message of one channel, timestamped on receipt, from a thread."""

    def __init__(self, server: RedisServer, channel: str) -> None:
        self._pubsub = server.client().pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self._pubsub.subscribe(channel)
        wait_for(lambda: self._pubsub.get_message(timeout=0.05) is None or True)
        self.messages: list[Message] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._pubsub.get_message(timeout=0.05)
            except redis.RedisError:
                time.sleep(0.05)
                continue
            if message and message["type"] == "message":
                self.messages.append(Message(time.time(), json.loads(message["data"])))

    def wait_count(self, count: int, timeout: float = 15.0) -> list[Message]:
        wait_for(lambda: len(self.messages) >= count, timeout=timeout, what=f"{count} messages")
        return list(self.messages)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._pubsub.close()


@contextmanager
def subscribed(server: RedisServer, channel: str) -> Iterator[Subscriber]:
    subscriber = Subscriber(server, channel)
    try:
        yield subscriber
    finally:
        subscriber.close()


def texts(values: Any) -> list[str]:
    """A Redis list reply as text (the sync client's replies are typed loosely)."""
    return [text(value) for value in values]


def finished(
    spawn: Callable[..., WorkerProcess], *args: str, redis: str | None = None, **env: str
) -> WorkerProcess:
    """Spawn `python -m worker ARGS` and wait for it to end."""
    process = spawn(*args, redis=redis, **env)
    process.wait(timeout=30)
    return process


def run_records(client: redis.Redis, key: str = "worker:runs") -> list[dict[str, str]]:
    """The run history stream's entries, decoded."""
    entries: Any = client.xrange(key)
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]


def status_when(
    spawn: Callable[..., WorkerProcess],
    ready: Callable[[dict[str, Any]], bool],
    *args: str,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Run `status --json` until its report satisfies `ready` (records land within seconds)."""

    def report() -> dict[str, Any]:
        process = spawn(*args, "status", "--json")
        assert process.wait() == 0, process.stderr
        found: dict[str, Any] = json.loads(process.stdout)
        return found if ready(found) else {}

    found: dict[str, Any] = wait_for(report, timeout=timeout, interval=0.2, what="status report")
    return found


def task_of(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(t for t in report["tasks"] if t["name"] == name)
    return found


def start_slow_run(
    spawn: Callable[..., WorkerProcess], client: redis.Redis, **env: str
) -> WorkerProcess:
    """The probe app (tests/apps/custom.py) with its one-off slow run started."""
    worker = spawn("--app", "tests.apps.custom:Container", **env)
    wait_for(lambda: client.lrange("probe:slow", 0, -1) == [b"started"], what="slow run start")
    return worker


def run_bench(argv: list[str], budget: float, what: str) -> tuple[int, str]:
    """`python -m <argv>` from the project root; on overrun of `budget` seconds, SIGTERM lets
    it stop its own children first, and the test fails naming `what`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        try:
            output, _ = process.communicate(timeout=budget)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=15)
            pytest.fail(f"{what} took over {budget:.0f} s:\n{output[-3000:]}")
    return process.returncode, output
