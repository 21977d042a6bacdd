"""The framework's settings: one typed class an application subclasses to add its own."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from secrets import token_hex
from typing import Any, Literal
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from typing_extensions import override

from worker.errors import ConfigError, quoted
from worker.settings.cluster import ClusterSettings
from worker.settings.durations import duration_setting
from worker.settings.network import BindAddress, Port
from worker.settings.per_task import PerTaskSource
from worker.settings.queues import QueueSettings
from worker.settings.ranges import RANGES, out_of_range
from worker.settings.targets import TargetSettings
from worker.settings.urls import (
    masked_redis_url,
    redis_url_secrets,
    redis_url_setting,
    webhook_url_secrets,
    webhook_url_setting,
)

__all__ = ["LOG_LEVELS", "WorkerSettings"]

LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
_IMPORT_STRING = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


# Numeric fields of this class and ClusterSettings, held to their RANGES after parsing.
_OWN_RANGED = (
    "shutdown_timeout",
    "heartbeat_interval",
    "run_history_maxlen",
    "misfire_grace",
    "task_time_limit",
    "alert_after_failures",
    "outage_log_interval",
    "redis_timeout",
    "claim_lease",
    "claim_skew",
    "claim_max_recoveries",
    "run_history_per_task",
)


def _default_instance_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{token_hex(2)}"


class WorkerSettings(TargetSettings, BaseSettings, ClusterSettings, QueueSettings):
    """Settings of the framework; an application subclasses it to add its own."""

    # defer_build: only the class actually loaded (the application's subclass) pays for a schema.
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,
        defer_build=True,
    )

    redis_url: SecretStr = SecretStr("redis://localhost:6379/0")
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    worker_app: str = "container:Container"
    worker_timezone: str = "UTC"
    shutdown_timeout: float = 30.0
    disabled_tasks: str = ""
    worker_instance_id: str = Field(default_factory=_default_instance_id)
    heartbeat_file: Path = Path("/tmp/worker.heartbeat")
    heartbeat_interval: float = 10.0
    key_prefix: str = "worker:"
    run_history_maxlen: int = 100_000
    misfire_grace: float = 60.0
    task_time_limit: float = 0.0
    alert_after_failures: int = 3
    outage_log_interval: float = 30.0
    alert_channel: str = "worker:alerts"
    alert_webhook_url: SecretStr | None = None
    redis_timeout: float = 5.0
    metrics_port: Port = None  # unset: no endpoint, prometheus-client not even imported
    metrics_addr: BindAddress = "127.0.0.1"
    # SCHEDULE_<TASK> and TASK_TIME_LIMIT_<TASK> by <TASK>, from `PerTaskSource`.
    task_schedules: dict[str, str] = Field(default_factory=dict)
    task_time_limits: dict[str, float] = Field(default_factory=dict)

    @override
    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        per_task = PerTaskSource(settings_cls, getattr(dotenv_settings, "env_file", None))
        return (init_settings, env_settings, dotenv_settings, per_task, file_secret_settings)

    # MISFIRE_GRACE must be > 0: every fire starts some microseconds late.
    @field_validator(
        "shutdown_timeout",
        "heartbeat_interval",
        "outage_log_interval",
        "misfire_grace",
        "redis_timeout",
        mode="before",
    )
    @classmethod
    def _positive_duration(cls, value: object) -> float:
        return duration_setting(value, positive=True)

    @field_validator("task_time_limit", mode="before")
    @classmethod
    def _non_negative_duration(cls, value: object) -> float:
        return duration_setting(value, positive=False)

    @field_validator("task_time_limits", mode="before")
    @classmethod
    def _time_limits(cls, values: dict[str, Any]) -> dict[str, float]:
        limits: dict[str, float] = {}
        for key, value in values.items():
            try:
                limits[key] = duration_setting(value, positive=False)
            except ValueError as exc:
                raise ConfigError(f"TASK_TIME_LIMIT_{key}: {exc}") from None
            problem = RANGES["task_time_limit"].problem(limits[key])
            if problem is not None:
                raise ConfigError(f"TASK_TIME_LIMIT_{key}: {problem}")
        return limits

    @model_validator(mode="after")
    def _in_ranges(self) -> Any:
        # The target settings hold theirs in their own validator (it parses them first).
        found = out_of_range({name: getattr(self, name) for name in _OWN_RANGED})
        if found is not None:
            raise ConfigError(f"{found[0]}: {found[1]}")
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: object) -> str:
        level = str(value).strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr) -> SecretStr:
        return SecretStr(redis_url_setting(value.get_secret_value()))

    @field_validator("alert_webhook_url", mode="before")
    @classmethod
    def _webhook_scheme(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return webhook_url_setting(str(value or ""))  # empty: no webhook

    @field_validator("worker_app")
    @classmethod
    def _import_string(cls, value: str) -> str:
        if not _IMPORT_STRING.match(value.strip()):
            raise ValueError("must look like MODULE:ATTR (e.g. container:Container)")
        return value.strip()

    @field_validator("worker_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (KeyError, ValueError, OSError):
            raise ValueError(f"unknown time zone {quoted(value.strip())}") from None
        return value.strip()

    @field_validator("worker_instance_id")
    @classmethod
    def _instance_id(cls, value: str) -> str:
        # It names the replica in every log line, record and status row.
        if not value or len(value) > 128 or not value.isprintable() or not value.isascii():
            raise ValueError("must be 1 to 128 printable ASCII characters")
        if any(char.isspace() for char in value):
            raise ValueError("must be non-empty and contain no whitespace")
        return value

    @field_validator("heartbeat_file", "alert_channel", mode="before")
    @classmethod
    def _not_empty(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.worker_timezone)

    @property
    def disabled(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in self.disabled_tasks.split(",") if name.strip())

    def redis_url_value(self) -> str:
        """The real URL, password included: for the Redis client only."""
        return self.redis_url.get_secret_value()

    def webhook_url_value(self) -> str | None:
        """The real ALERT_WEBHOOK_URL (it may carry a token): for the alert sender only."""
        return self.alert_webhook_url.get_secret_value() if self.alert_webhook_url else None

    def safe_redis_url(self) -> str:
        """The URL fit for logs: any password (userinfo or `?password=`) shown as `***`."""
        return masked_redis_url(self.redis_url_value())

    def secrets(self) -> tuple[str, ...]:
        """Every string that must never be printed (as written and percent-decoded)."""
        found = redis_url_secrets(self.redis_url_value())
        if self.alert_webhook_url is not None:
            found += webhook_url_secrets(self.alert_webhook_url.get_secret_value())
        found += self.nats_secrets()
        found += [unquote(secret) for secret in found]
        return tuple(dict.fromkeys(secret for secret in found if secret))
