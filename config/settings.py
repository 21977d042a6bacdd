"""The application's settings: the framework's plus those of the shipped tasks."""

from __future__ import annotations

from pydantic import Field, field_validator

from worker import WorkerSettings


class Settings(WorkerSettings):
    """Every env var of crypto-stats-worker; load it with `worker.load_settings`."""

    crypto_channel: str = "crypto-update"
    health_memory_limit_mb: int = Field(default=500, gt=0)
    cleanup_retention_days: int = Field(default=30, ge=1)

    @field_validator("crypto_channel")
    @classmethod
    def _channel_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()
