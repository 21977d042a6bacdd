"""Fixtures of the app tests: the settings an in-process application context reads."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_url: str) -> str:
    """The settings an application context reads: the test redis, a heartbeat file of its own."""
    for name in ("WORKER_APP", "DISABLED_TASKS", "TASK_TIME_LIMIT", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HEARTBEAT_FILE", str(tmp_path / "worker.heartbeat"))
    return redis_url
