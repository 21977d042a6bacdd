"""The application's settings: the framework's plus those of the shipped tasks."""

from __future__ import annotations

from pydantic import Field, field_validator

from worker import Duration, WorkerSettings


class Settings(WorkerSettings):
    """Every env var of crypto-stats-worker; load it with `worker.load_settings`.

    The trigger target settings (CRYPTO_CHANNEL, CRYPTO_SUBJECT, JETSTREAM_STREAM, ...) are
    the framework's: its targets deliver what `TriggerPublisher` is given.
    """

    # health-check
    health_memory_limit_mb: int = Field(default=500, gt=0, le=1_048_576)
    # cleanup
    cleanup_retention_days: int = Field(default=30, ge=1, le=3650)
    # coin-sync
    coins: str = "bitcoin,ethereum"
    price_api_url: str = "https://api.coingecko.com/api/v3"
    sync_max_delay: Duration = Field(default=30.0, le=3600)
    price_api_max_bytes: int = 1_000_000

    # Validator names must not repeat one of WorkerSettings': the subclass's would hide it.
    @field_validator("coins")
    @classmethod
    def _some_coin(cls, value: str) -> str:
        if not any(coin.strip() for coin in value.split(",")):
            raise ValueError("must name at least one coin (comma-separated ids, e.g. bitcoin)")
        return value

    @field_validator("price_api_url")
    @classmethod
    def _price_api_http(cls, value: str) -> str:
        if not value.strip().lower().startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.strip().rstrip("/")

    @field_validator("price_api_max_bytes")
    @classmethod
    def _answer_size(cls, value: int) -> int:
        # Below 1 kB a real answer (~150 bytes per coin) is near; above 100 MB the bound no
        # longer protects memory (each of the processor's jobs holds up to this much).
        if not 1_000 <= value <= 100_000_000:
            raise ValueError("must be between 1000 and 100000000 (bytes)")
        return value

    @property
    def coin_list(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.strip().lower() for c in self.coins.split(",") if c.strip()))
