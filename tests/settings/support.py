"""Settings loaded as the worker loads them, from the environment a test sets."""

from __future__ import annotations

import pytest

from config import Settings
from worker.settings import load_settings


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings(Settings)
