"""Queue settings (BullMQ): roles, the key prefix, the job lock, per-queue overrides.

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
from pydantic import BaseModel, Field, field_validator, model_validator

from worker.errors import ConfigError, quoted
from worker.settings.durations import parse_duration
from worker.settings.fields import Duration

ROLES = ("scheduler", "processor")
OVERRIDE = re.compile(r"^QUEUE_(?P<queue>.+)_(?P<field>ATTEMPTS|BACKOFF|CONCURRENCY)$")


class QueueSettings(BaseModel):
    """A mixin of `WorkerSettings`: its fields are settings like the others."""

    worker_roles: str = "scheduler,processor"
    queue_prefix: str = "bull"
    queue_lock_duration: Duration = 30.0
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
    try:
        number = parse_duration(text) if field == "backoff" else int(text)
    except ValueError:
        kind = "a duration" if field == "backoff" else "an integer"
        raise ConfigError(f"{key}: must be {kind}") from None
    if number < (0 if field == "backoff" else 1):
        raise ConfigError(f"{key}: must be {'>= 0' if field == 'backoff' else '>= 1'}")
    return float(number)
