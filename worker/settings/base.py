"""The framework's settings: one typed class an application subclasses to add its own."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from secrets import token_hex
from typing import Any, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from worker.errors import ConfigError
from worker.settings.cluster import ClusterSettings
from worker.settings.durations import is_duration, parse_duration
from worker.settings.network import BindAddress, Port
from worker.settings.per_task import PerTaskSource
from worker.settings.queues import QueueSettings
from worker.settings.targets import TargetSettings

LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
_REDIS_SCHEMES = ("redis", "rediss", "unix")
_IMPORT_STRING = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_QUERY_PASSWORD = re.compile(r"(^|&)(password=)([^&]*)", re.IGNORECASE)


def _default_instance_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{token_hex(2)}"


def duration_setting(value: object, *, positive: bool) -> float:
    """Seconds from a number or `500ms/30s/15m/1h`; a sign error says which bound applies."""
    bound = "must be > 0" if positive else "must be >= 0"
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str | int | float):
        raise ValueError("not a duration (expected seconds or Nms/Ns/Nm/Nh)")
    negative = text.startswith("-") and is_duration(text[1:]) if isinstance(text, str) else text < 0
    if negative or (positive and parse_duration(text) == 0):
        raise ValueError(bound)
    return parse_duration(text)


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
    run_history_maxlen: int = Field(default=100_000, ge=1)
    misfire_grace: float = 60.0
    task_time_limit: float = 0.0
    alert_after_failures: int = Field(default=3, ge=0)
    outage_log_interval: float = 30.0
    alert_channel: str = "worker:alerts"
    alert_webhook_url: SecretStr | None = None
    redis_timeout: float = 5.0
    metrics_port: Port = None  # unset: no endpoint, prometheus-client not even imported
    metrics_addr: BindAddress = "127.0.0.1"
    # SCHEDULE_<TASK> and TASK_TIME_LIMIT_<TASK> by <TASK>, from `PerTaskSource`.
    task_schedules: dict[str, str] = Field(default_factory=dict)
    task_time_limits: dict[str, float] = Field(default_factory=dict)

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
        return limits

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
        # Messages here must never quote the URL: it may carry the password.
        url = value.get_secret_value().strip()
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises on a non-numeric or out-of-range port
        except ValueError:
            raise ValueError("not a valid URL (bad host or port)") from None
        if parts.scheme.lower() not in _REDIS_SCHEMES:
            raise ValueError("must start with redis://, rediss:// or unix://")
        database = parts.path.strip("/")
        if (
            parts.scheme.lower() != "unix"
            and database
            and not (database.isascii() and database.isdigit())
        ):
            raise ValueError("the database (the path after the host) must be a number")
        if parts.query:
            _check_query_options(url)
        return SecretStr(url)

    @field_validator("alert_webhook_url", mode="before")
    @classmethod
    def _webhook_scheme(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        url = str(value or "").strip()
        if not url:
            return None  # ALERT_WEBHOOK_URL= (empty) means no webhook
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ValueError("must start with http:// or https://")
        return url

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
            raise ValueError(f"unknown time zone {value.strip()!r}") from None
        return value.strip()

    @field_validator("worker_instance_id")
    @classmethod
    def _instance_id(cls, value: str) -> str:
        if not value or any(char.isspace() for char in value):
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
        parts = urlsplit(self.redis_url_value())
        netloc, query = parts.netloc, _QUERY_PASSWORD.sub(r"\1\2***", parts.query)
        if parts.password is not None:
            userinfo, _, host = netloc.rpartition("@")
            netloc = f"{userinfo.partition(':')[0]}:***@{host}"
        # Built by hand: urlunsplit drops the empty authority of `unix:///path`.
        query = f"?{query}" if query else ""
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        return f"{parts.scheme}://{netloc}{parts.path}{query}{fragment}"

    def secrets(self) -> tuple[str, ...]:
        """Every string that must never be printed (as written and percent-decoded)."""
        redis = urlsplit(self.redis_url_value())
        found = [redis.password or "", *(m[3] for m in _QUERY_PASSWORD.finditer(redis.query))]
        if self.alert_webhook_url is not None:
            hook = urlsplit(self.alert_webhook_url.get_secret_value())
            tail = hook.path + (f"?{hook.query}" if hook.query else "")  # tokens live here
            found += [hook.geturl(), hook.password or "", tail if len(tail) > 1 else ""]
        found += self.nats_secrets()
        found += [unquote(secret) for secret in found]
        return tuple(dict.fromkeys(secret for secret in found if secret))


def _check_query_options(url: str) -> None:
    """Options after `?` are parsed by redis-py when the client is built: parse them now,
    so a bad one is a one-line error here, not a traceback (with the URL) later."""
    from redis.connection import parse_url

    try:
        parse_url(url)  # type: ignore[no-untyped-call]
    except (ValueError, TypeError) as exc:
        reason = str(exc).split(" in connection URL")[0]  # redis-py's text, URL-free
        raise ValueError(f"bad option after '?': {reason}") from None
