"""Queue settings (BullMQ): roles, the key prefix, the job lock, per-queue overrides, and
the ranges every numeric one is held to.

`QUEUE_<NAME>_ATTEMPTS/_BACKOFF/_CONCURRENCY` are read by prefix from `.env` and the
environment (pydantic-settings has no wildcard fields); which queue a name means is checked
once the processors are discovered.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from worker.errors import QUOTE_LIMIT, ConfigError, quoted
from worker.settings.durations import parse_duration
from worker.settings.fields import Duration
from worker.settings.ranges import RANGES

ROLES = ("scheduler", "processor")
OVERRIDE = re.compile(r"^QUEUE_(?P<queue>.+)_(?P<field>ATTEMPTS|BACKOFF|CONCURRENCY)$")

# bullmq starts one task per concurrency slot at once: 10^12 slots took 2 GB in 14 s.
CONCURRENCY_RANGE = (1, 1000)
ATTEMPTS_RANGE = (1, 100)
BACKOFF_MAX = 3600.0
"""The first retry's delay, and the longest any retry waits for its backoff."""


class QueueSettings(BaseModel):
    """A mixin of `WorkerSettings`: its fields are settings like the others."""

    model_config = ConfigDict(defer_build=True)  # only the settings class loaded builds one

    worker_roles: str = "scheduler,processor"
    queue_prefix: str = "bull"
    queue_lock_duration: Duration = 30.0
    queue_max_retry_after: Duration = 3600.0
    # QUEUE_<NAME>_* by <NAME> (upper case, `-` → `_`), then by field (attempts, ...).
    queue_overrides: dict[str, dict[str, float]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _read_overrides(cls, data: Any) -> Any:
        if isinstance(data, dict) and "queue_overrides" not in data:
            data = {**data, "queue_overrides": _overrides()}
        return data

    @field_validator("worker_roles")
    @classmethod
    def _known_roles(cls, value: str) -> str:
        roles = [role.strip().lower() for role in value.split(",") if role.strip()]
        unknown = [role for role in roles if role not in ROLES]
        if unknown or not roles:
            raise ValueError(f"roles are {', '.join(ROLES)} (comma-separated), not {quoted(value)}")
        return ",".join(dict.fromkeys(roles))

    @field_validator("queue_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value.strip() or ":" in value:
            raise ValueError("must be non-empty, without ':'")
        return value.strip()

    @field_validator("queue_lock_duration", "queue_max_retry_after")
    @classmethod
    def _queue_duration_range(cls, value: float, info: ValidationInfo) -> float:
        problem = RANGES[str(info.field_name)].problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.worker_roles.split(","))


def _overrides() -> dict[str, dict[str, float]]:
    path = Path(".env")
    dotenv = dotenv_values(path, encoding="utf-8") if path.is_file() else {}
    found: dict[str, dict[str, float]] = {}
    for key, value in [*dotenv.items(), *os.environ.items()]:
        match = OVERRIDE.match(key.upper())
        if match is None:
            continue
        field = match["field"].lower()
        found.setdefault(match["queue"], {})[field] = _value(key.upper(), field, value)
    return found


def _value(key: str, field: str, value: str | None) -> float:
    text = (value or "").strip()
    shown = f", not {quoted(text)}" if len(text) <= QUOTE_LIMIT else ""
    try:
        number = parse_duration(text) if field == "backoff" else int(text)
    except ValueError:
        kind = "a duration (e.g. 2s, 500ms)" if field == "backoff" else "an integer"
        raise ConfigError(f"{key}: must be {kind}{shown}") from None
    if field == "backoff" and number > BACKOFF_MAX:
        raise ConfigError(f"{key}: must be at most 1h{shown}")
    if field != "backoff":
        low, high = CONCURRENCY_RANGE if field == "concurrency" else ATTEMPTS_RANGE
        if not low <= number <= high:
            raise ConfigError(f"{key}: must be between {low} and {high}{shown}")
    return float(number)
