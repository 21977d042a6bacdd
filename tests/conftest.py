"""Fixtures: one real redis-server per session (flushed per test), worker processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from loguru import logger
from redis.asyncio import Redis

from tests.price_api import PriceApi, price_api
from tests.support import RedisServer, WorkerProcess, worker_env

MISSING_TOOL = "missing tool: "
"""How a test that needs a tool this machine lacks says so when it skips (README lists them)."""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per missing tool, naming the tests it skipped: a skip must not pass unseen."""
    skipped: dict[str, list[str]] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""
        if MISSING_TOOL in reason:
            tool = reason.split(MISSING_TOOL, 1)[1]
            skipped.setdefault(tool, []).append(report.nodeid)
    for tool, tests in skipped.items():
        terminalreporter.write_line(
            f"missing tools: {tool} ({len(tests)} skipped: {', '.join(tests)})", yellow=True
        )


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own: it may kill and restart it without hurting others."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fault_redis(own_redis: RedisServer) -> RedisServer:
    """The fault tests' name for `own_redis`: a server they may kill, freeze or demote."""
    return own_redis


@pytest.fixture
def logs() -> Iterator[list[str]]:
    """Every log line (with its fields and any traceback) while the test runs."""
    lines: list[str] = []
    sink = logger.add(lines.append, level="DEBUG", format="{level} {message} {extra}\n{exception}")
    yield lines
    logger.remove(sink)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis_server.client().flushall()
    return redis_server.url


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    """An asyncio client of the suite's redis-server, flushed for the test."""
    redis = Redis.from_url(redis_url)
    yield redis
    await redis.aclose()


@pytest.fixture
def api() -> Iterator[PriceApi]:
    """A local price API (tests/price_api.py) the shipped sync-coin processor calls."""
    with price_api() as server:
        yield server


@pytest.fixture
def spawn_worker(tmp_path: Path, redis_url: str) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `python -m worker ARGS` with env overrides; killed at the end if still running."""
    started: list[WorkerProcess] = []

    def spawn(*args: str, redis: str | None = None, **env: str) -> WorkerProcess:
        env.setdefault("HEARTBEAT_FILE", str(tmp_path / "worker.heartbeat"))
        process = WorkerProcess(list(args), worker_env(redis or redis_url, **env), tmp_path)
        started.append(process)
        return process

    yield spawn
    for process in started:
        process.close()
