"""Settings of the trigger targets (DESIGN "Trigger targets"): which ones, and where."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator

TARGET_NAMES = ("redis-pubsub", "redis-stream", "nats", "jetstream")
NATS_TARGETS = ("nats", "jetstream")
_NATS_SCHEMES = ("nats", "tls", "ws", "wss")


class TargetSettings(BaseModel):
    """TRIGGER_TARGETS and the settings of each target; a mixin of `WorkerSettings`."""

    trigger_targets: str = "redis-pubsub"
    crypto_channel: str = "crypto-update"
    nats_url: SecretStr = SecretStr("nats://localhost:4222")
    crypto_subject: str = "crypto.updates"
    jetstream_stream: str = "CRYPTO"
    jetstream_max_age: float = 24 * 3600.0
    crypto_stream_key: str = "crypto-update:stream"
    crypto_stream_maxlen: int = Field(default=10_000, ge=1)

    @field_validator("trigger_targets")
    @classmethod
    def _known_targets(cls, value: str) -> str:
        names = [name.strip().lower() for name in value.split(",") if name.strip()]
        unknown = [name for name in names if name not in TARGET_NAMES]
        if unknown or not names:
            what = f"unknown target {unknown[0]!r}" if unknown else "names no target"
            raise ValueError(f"{what} (valid: {', '.join(TARGET_NAMES)})")
        return ",".join(dict.fromkeys(names))

    @field_validator("nats_url")
    @classmethod
    def _nats_servers(cls, value: SecretStr) -> SecretStr:
        # Messages here must never quote the URL: it may carry a password or a token.
        servers = [server.strip() for server in value.get_secret_value().split(",")]
        for server in servers:
            try:
                parts = urlsplit(server)
                _ = parts.port
            except ValueError:
                raise ValueError("not a valid URL (bad host or port)") from None
            if parts.scheme.lower() not in _NATS_SCHEMES or not parts.hostname:
                raise ValueError("each server must look like nats://[user:password@]host[:port]")
        return SecretStr(",".join(servers))

    @field_validator("jetstream_max_age", mode="before")
    @classmethod
    def _max_age(cls, value: object) -> float:
        from worker.settings.base import duration_setting

        return duration_setting(value, positive=True)

    @field_validator(
        "crypto_channel", "crypto_subject", "jetstream_stream", "crypto_stream_key", mode="before"
    )
    @classmethod
    def _not_blank(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                raise ValueError("must not be empty")
            return value.strip()
        return value

    @field_validator("crypto_subject", "jetstream_stream")
    @classmethod
    def _nats_token(cls, value: str) -> str:
        if any(char.isspace() for char in value):
            raise ValueError("must contain no whitespace")
        return value

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.trigger_targets.split(","))

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
