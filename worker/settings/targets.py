"""Settings of the trigger targets (DESIGN "Trigger targets"): which ones, and where."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator

from worker.errors import ConfigError, quoted
from worker.settings.durations import duration_setting
from worker.settings.ranges import out_of_range

TARGET_NAMES = ("redis-pubsub", "redis-stream", "nats", "jetstream")
NATS_TARGETS = ("nats", "jetstream")
_NATS_SCHEMES = ("nats", "tls", "ws", "wss")
_DURATIONS = ("jetstream_max_age", "pubsub_catchup_wait")


class TargetSettings(BaseModel):
    """TRIGGER_TARGETS and the settings of each target; a mixin of `WorkerSettings`.

    One validator for all of them (each one-line error names its variable): the default
    worker's memory is benchmarked, and every field validator costs some.
    """

    model_config = ConfigDict(defer_build=True)  # only the settings class loaded builds one

    trigger_targets: str = "redis-pubsub"
    crypto_channel: str = "crypto-update"
    nats_url: SecretStr = SecretStr("nats://localhost:4222")
    crypto_subject: str = "crypto.updates"
    jetstream_stream: str = "CRYPTO"
    jetstream_max_age: Any = 24 * 3600.0
    jetstream_manage: str = "off"
    crypto_stream_key: str = "crypto-update:stream"
    crypto_stream_maxlen: int = 10_000
    pubsub_catchup_wait: Any = 5.0

    @model_validator(mode="after")
    def _check_targets(self) -> Any:
        names = [name.strip().lower() for name in self.trigger_targets.split(",") if name.strip()]
        unknown = [name for name in names if name not in TARGET_NAMES]
        if unknown or not names:
            what = f"unknown target {quoted(unknown[0])}" if unknown else "names no target"
            raise ConfigError(f"TRIGGER_TARGETS: {what} (valid: {', '.join(TARGET_NAMES)})")
        self.trigger_targets = ",".join(dict.fromkeys(names))
        for name in ("crypto_channel", "crypto_subject", "jetstream_stream", "crypto_stream_key"):
            value = str(getattr(self, name)).strip()
            if not value or (name in ("crypto_subject", "jetstream_stream") and " " in value):
                raise ConfigError(f"{name.upper()}: must be non-empty, without spaces")
            setattr(self, name, value)
        if self.uses_nats:
            _check_subject(self.crypto_subject)
        self.jetstream_manage = _on_off("JETSTREAM_MANAGE", self.jetstream_manage)
        try:
            self.jetstream_max_age = duration_setting(self.jetstream_max_age, positive=True)
        except ValueError as exc:
            raise ConfigError(f"JETSTREAM_MAX_AGE: {exc}") from None
        try:
            self.pubsub_catchup_wait = duration_setting(self.pubsub_catchup_wait, positive=False)
        except ValueError as exc:
            raise ConfigError(f"PUBSUB_CATCHUP_WAIT: {exc}") from None
        found = out_of_range(
            {name: getattr(self, name) for name in ("crypto_stream_maxlen", *_DURATIONS)}
        )
        if found is not None:
            raise ConfigError(f"{found[0]}: {found[1]}")
        self.nats_url = SecretStr(_nats_servers(self.nats_url.get_secret_value()))
        return self

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.trigger_targets.split(","))

    @property
    def manage_stream(self) -> bool:
        """JETSTREAM_MANAGE=on: the worker may change the stream named JETSTREAM_STREAM."""
        return self.jetstream_manage == "on"

    @property
    def uses_nats(self) -> bool:
        return any(name in NATS_TARGETS for name in self.targets)

    def nats_servers(self) -> list[str]:
        """The real server URLs, credentials included: for the NATS client only."""
        return self.nats_url.get_secret_value().split(",")

    def safe_nats_url(self) -> str:
        """NATS_URL fit for logs: user names kept, passwords and tokens shown as `***`."""
        shown = []
        for server in self.nats_servers():
            parts = urlsplit(server)
            host = parts.netloc.rpartition("@")[2]
            if parts.password is not None:
                host = f"{parts.username}:***@{host}"
            elif parts.username is not None:
                host = f"***@{host}"  # a lone user part is a token
            shown.append(f"{parts.scheme}://{host}")
        return ",".join(shown)

    def nats_secrets(self) -> list[str]:
        found: list[str] = []
        for server in self.nats_servers():
            parts = urlsplit(server)
            found += [parts.password or "", parts.username or "" if parts.password is None else ""]
        return [*found, *(unquote(secret) for secret in found)]


_ON = ("on", "true", "yes", "1")
_OFF = ("off", "false", "no", "0")


def _on_off(variable: str, value: object) -> str:
    text = str(value).strip().lower()
    if text not in _ON + _OFF:
        raise ConfigError(f"{variable}: must be on or off")
    return "on" if text in _ON else "off"


def _check_subject(subject: str) -> None:
    """CRYPTO_SUBJECT is published to: no wildcard, no empty token."""
    tokens = subject.split(".")
    if any(token in ("*", ">") for token in tokens):
        raise ConfigError("CRYPTO_SUBJECT: a subject published to cannot hold a wildcard (* or >)")
    if not all(tokens):
        raise ConfigError("CRYPTO_SUBJECT: must not start or end with a dot, nor hold two in a row")


def _nats_servers(text: str) -> str:
    """NATS_URL checked server by server; an error never quotes it (it may carry a secret)."""
    servers = [server.strip() for server in text.split(",")]
    for server in servers:
        try:
            parts = urlsplit(server)
            _ = parts.port
        except ValueError:
            raise ConfigError("NATS_URL: not a valid URL (bad host or port)") from None
        if parts.scheme.lower() not in _NATS_SCHEMES or not parts.hostname:
            raise ConfigError(
                "NATS_URL: each server must look like nats://[user:password@]host[:port]"
            )
    return ",".join(servers)
