"""Settings of the fleet: claim leases, clock skew, Redis Sentinel, per-task history cap."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from worker.errors import quoted
from worker.settings.durations import parse_duration


class ClusterSettings(BaseModel):
    """CLAIM_LEASE, CLAIM_SKEW, CLAIM_MAX_RECOVERIES, REDIS_SENTINELS, REDIS_SENTINEL_MASTER,
    RUN_HISTORY_PER_TASK."""

    model_config = ConfigDict(defer_build=True)  # a mixin: only the settings class loaded builds

    claim_lease: float = 5.0
    claim_skew: float = 2.0
    claim_max_recoveries: int = 2
    redis_sentinels: str = ""
    redis_sentinel_master: str = "mymaster"
    run_history_per_task: int = 1000

    @field_validator("claim_lease", "claim_skew", mode="before")
    @classmethod
    def _claim_duration(cls, value: object) -> float:
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, str) and text.startswith("-"):
            raise ValueError("must be >= 0")
        if not isinstance(text, str | int | float) or isinstance(text, bool):
            raise ValueError("not a duration (expected seconds or Nms/Ns/Nm/Nh)")
        return parse_duration(text)

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinels(cls, value: str) -> str:
        for entry in (part.strip() for part in value.split(",") if part.strip()):
            host, _, port = entry.rpartition(":")
            if not host or not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
                raise ValueError(f"{quoted(entry)} is not host:port")
        return value.strip()

    @field_validator("redis_sentinel_master")
    @classmethod
    def _master(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @property
    def sentinels(self) -> tuple[tuple[str, int], ...]:
        """REDIS_SENTINELS as (host, port) pairs; empty: connect to REDIS_URL directly."""
        pairs = []
        for entry in (part.strip() for part in self.redis_sentinels.split(",") if part.strip()):
            host, _, port = entry.rpartition(":")
            pairs.append((host.strip("[]"), int(port)))
        return tuple(pairs)
