"""Child processes of the benchmark: spawn with output to files, readiness, psutil figures, exit.

Times are `time.time()` so they compare with the subscriber's receipt stamps.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import redis

READY_LINE = re.compile(rb"(^|\s)ready(\s|$)")
POLL_S = 0.002


class BenchError(Exception):
    """The run cannot go on (a program never got ready, a server did not start)."""


@dataclass(frozen=True)
class Exit:
    seconds: float
    code: int
    killed: bool


class Child:
    """One process whose stdout and stderr go to files in `logdir` (never to an unread pipe)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logdir: Path) -> None:
        self.name = name
        self.stderr_path = logdir / f"{name}.stderr.log"
        logdir.mkdir(parents=True, exist_ok=True)
        with (logdir / f"{name}.stdout.log").open("wb") as out, self.stderr_path.open("wb") as err:
            self.spawned_at = time.time()
            self.popen = subprocess.Popen(
                argv,
                env=env,
                cwd=logdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # a Ctrl-C of the benchmark reaches it only via cleanup
            )
        self._process = psutil.Process(self.popen.pid)
        self._seen = 0
        self._partial = b""

    def wait_ready(self, timeout: float) -> float:
        """Poll the stderr file every 2 ms for a line with the word `ready`; when it was seen."""
        deadline = time.monotonic() + timeout
        with self.stderr_path.open("rb") as stream:
            while time.monotonic() < deadline:
                lines = (self._partial + stream.read()).split(b"\n")
                self._partial = lines.pop()
                if any(READY_LINE.search(line) for line in lines):
                    return time.time()
                if self.popen.poll() is not None:
                    raise BenchError(f"{self.name} exited {self.popen.returncode}: {self.tail()}")
                time.sleep(POLL_S)
        raise BenchError(f"{self.name} not ready within {timeout:.0f} s: {self.tail()}")

    def tail(self, lines: int = 5) -> str:
        text = self.stderr_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(no output)"

    def tree(self) -> list[psutil.Process]:
        return [self._process, *self._process.children(recursive=True)]

    def memory(self) -> tuple[int, int]:
        """RSS and USS in bytes of the process and all its descendants."""
        rss = uss = 0
        for process in self.tree():
            try:
                info = process.memory_full_info()
            except psutil.NoSuchProcess:  # a descendant that ended meanwhile
                continue
            rss += info.rss
            uss += info.uss
        return rss, uss

    def cpu_seconds(self) -> float:
        """User + system CPU of the process tree (live processes) so far."""
        total = 0.0
        for process in self.tree():
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def terminate(self, timeout: float) -> Exit:
        """SIGTERM, then the time until it exited (SIGKILL after `timeout`)."""
        started = time.perf_counter()
        self.popen.send_signal(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            code = self.popen.wait()
            return Exit(time.perf_counter() - started, code, killed=True)
        return Exit(time.perf_counter() - started, code, killed=False)

    def close(self) -> None:
        """Make sure it is gone (cleanup after a failed run); quiet if it already exited."""
        if self.popen.poll() is None:
            self.terminate(timeout=5)


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without the worker's own settings, plus `extra`."""
    prefixes = ("SCHEDULE_", "TASK_TIME_LIMIT", "WORKER_", "REDIS_", "LOG_", "DISABLED_TASKS")
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    # Programs run compiled bytecode, as in the image (its Dockerfile compiles every module)
    # and as the warm-up rounds assume: inherited, PYTHONDONTWRITEBYTECODE=1 would have every
    # start compile the tree's own modules again (about 0.14 s of the worker's spawn → ready).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_redis(logdir: Path, timeout: float = 10.0) -> tuple[Child, str]:
    """A throwaway redis-server on a free port, answering PING; the child and its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchError("redis-server not found on PATH")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    child = Child("redis-server", [*argv, "--appendonly", "no"], clean_env(), logdir)
    client = redis.Redis(port=port, socket_timeout=1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.ping():
                client.close()
                return child, f"redis://127.0.0.1:{port}/0"
        except redis.ConnectionError:
            time.sleep(0.02)
    child.close()
    raise BenchError(f"redis-server on port {port} did not answer: {child.tail()}")
