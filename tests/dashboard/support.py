"""The dashboard as a real process: `python -m dashboard` on a free port, read over HTTP."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support import free_port, wait_for, worker_env


def start(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m dashboard ARGS` that should not start: its exit and output."""
    settings = worker_env(env.pop("REDIS_URL", "redis://127.0.0.1:1/0"), **env)
    settings = {k: v for k, v in settings.items() if k in env or not k.startswith("DASHBOARD_")}
    return subprocess.run(
        [sys.executable, "-m", "dashboard", *args],
        env=settings,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused start prints (no traceback)."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    lines = output.splitlines()
    assert len(lines) == 1, output
    return lines[0]


@dataclass
class DashboardProcess:
    """`python -m dashboard --addr 127.0.0.1:<free port>` with its output in a file."""

    redis_url: str
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    """What it listens on (`0.0.0.0`: every interface); it is reached on 127.0.0.1."""
    process: subprocess.Popen[bytes] = field(init=False)
    http: httpx.Client = field(init=False)
    """One client for every request (a new one per request costs an SSL context: ~0.1 s)."""

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, timeout=10.0)
        self.log_path = self.cwd / f"dashboard-{self.port}.log"
        self._log = self.log_path.open("wb")
        env = worker_env(self.redis_url, **self.env)
        env = {k: v for k, v in env.items() if k in self.env or not k.startswith("DASHBOARD_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dashboard", "--addr", f"{self.host}:{self.port}"],
            env=env,
            cwd=self.cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_listening(self, timeout: float = 15.0) -> None:
        """Until it answers HTTP (any status: /healthz is 503 while Redis is down)."""

        def answers() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"dashboard exited {self.process.returncode}:\n{self.output}")
            try:
                self.http.get("/healthz", timeout=1.0)
            except httpx.HTTPError:
                return False
            return True

        wait_for(answers, timeout=timeout, what="dashboard listening")

    def get(self, path: str, **options: Any) -> httpx.Response:
        reply = self.http.get(path, **options)
        self.http.cookies.clear()  # each request as a new visitor: no cookie carried over
        return reply

    def close(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
