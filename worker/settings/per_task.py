"""Per-task settings (`SCHEDULE_<TASK>`, `TASK_TIME_LIMIT_<TASK>`) as a pydantic-settings source.

pydantic-settings has no wildcard fields: this source reads every variable with one of the
prefixes, from the `.env` file and then the environment (which wins), and hands them to
the settings as two dicts keyed by `<TASK>`. Which task a key names is checked later,
once the tasks are discovered.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from typing_extensions import override

from worker.errors import ConfigError

SCHEDULE_PREFIX = "SCHEDULE_"
TIME_LIMIT_PREFIX = "TASK_TIME_LIMIT_"
FIELDS = {SCHEDULE_PREFIX: "task_schedules", TIME_LIMIT_PREFIX: "task_time_limits"}


class PerTaskSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], env_file: Any) -> None:
        super().__init__(settings_cls)
        self._env_file = Path(env_file) if isinstance(env_file, str | Path) else None

    @override
    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is read at once, in __call__

    @override
    def __call__(self) -> dict[str, Any]:
        found: dict[str, dict[str, str]] = {name: {} for name in FIELDS.values()}
        for key, value in self._variables():
            upper = key.upper()
            for prefix, field in FIELDS.items():
                if upper.startswith(prefix):
                    if upper == prefix:
                        raise ConfigError(f"{key}: names no task")
                    found[field][upper.removeprefix(prefix)] = _required(upper, value)
        return found

    def _variables(self) -> list[tuple[str, str | None]]:
        path = self._env_file
        dotenv = dotenv_values(path, encoding="utf-8") if path and path.is_file() else {}
        return [*dotenv.items(), *os.environ.items()]


def _required(key: str, value: str | None) -> str:
    if value is None or not value.strip():
        raise ConfigError(f"{key}: must not be empty")
    return value.strip()


def task_env_key(task_name: str) -> str:
    """`crypto-trigger` -> `CRYPTO_TRIGGER`, the `<TASK>` part of per-task variables."""
    return task_name.upper().replace("-", "_")
