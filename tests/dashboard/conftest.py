"""Fixtures: the dashboard process (`spawn_dashboard`) against the suite's redis-server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.dashboard.support import DashboardProcess


@pytest.fixture
def spawn_dashboard(tmp_path: Path, redis_url: str) -> Iterator[Callable[..., DashboardProcess]]:
    """Start the dashboard (env overrides as keywords, `redis=` for another server, `host=`
    to listen on) and wait until it answers HTTP; terminated at the end."""
    started: list[DashboardProcess] = []

    def spawn(*, redis: str | None = None, host: str = "127.0.0.1", **env: str) -> DashboardProcess:
        process = DashboardProcess(redis or redis_url, tmp_path, env, host=host)
        started.append(process)
        process.wait_listening()
        return process

    yield spawn
    for process in started:
        process.close()
