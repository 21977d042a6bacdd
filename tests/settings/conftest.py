"""Fixtures of the settings tests: no real .env and no inherited setting or override."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from config import Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real .env and no inherited setting or override leaks into a test."""
    monkeypatch.chdir(tmp_path)
    names = {name.lower() for name in Settings.model_fields}
    for key in list(os.environ):
        lowered = key.lower()
        if lowered in names or lowered.startswith(("schedule_", "task_time_limit_")):
            monkeypatch.delenv(key)
