"""The application's settings: the framework's plus those of the shipped tasks."""

from __future__ import annotations

from pydantic import Field

from worker import WorkerSettings


class Settings(WorkerSettings):
    """Every env var of crypto-stats-worker; load it with `worker.load_settings`.

    CRYPTO_CHANNEL and the other trigger target settings are the framework's (its targets).
    """

    health_memory_limit_mb: int = Field(default=500, gt=0)
    cleanup_retention_days: int = Field(default=30, ge=1)
