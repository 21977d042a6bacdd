"""Each queue's job options: defaults, the processor's concurrency, QUEUE_<NAME>_* settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from worker.errors import ConfigError

ATTEMPTS = 3
BACKOFF = 2.0
CONCURRENCY = 5
KEEP_COMPLETED = 10
KEEP_FAILED = 5


@dataclass(frozen=True, slots=True)
class QueueOptions:
    attempts: int = ATTEMPTS
    backoff: float = BACKOFF
    """Seconds before the first retry; each later one waits twice as long (exponential)."""
    concurrency: int = CONCURRENCY
    keep_completed: int = KEEP_COMPLETED
    keep_failed: int = KEEP_FAILED

    def job_options(self) -> dict[str, Any]:
        """bullmq's (and Node BullMQ's) job options: a Node consumer reads them as they are."""
        return {
            "attempts": self.attempts,
            "backoff": {"type": "exponential", "delay": round(self.backoff * 1000)},
            "removeOnComplete": self.keep_completed,
            "removeOnFail": self.keep_failed,
        }

    def backoff_before(self, attempt: int) -> float:
        """Seconds bullmq waits after failed attempt `attempt` (1 = the first)."""
        return float(self.backoff * 2 ** (attempt - 1))


def env_name(queue: str) -> str:
    """`coin-sync` → `COIN_SYNC`, the `<NAME>` of QUEUE_<NAME>_* settings."""
    return queue.upper().replace("-", "_")


def resolve_options(
    queues: Mapping[str, int | None], overrides: Mapping[str, Mapping[str, float]]
) -> dict[str, QueueOptions]:
    """Options of every known queue (name → the processor's concurrency, or None).

    An override naming no known queue is a configuration error: a typo must not leave the
    default in force silently.
    """
    by_env = {env_name(queue): queue for queue in queues}
    for name, fields in overrides.items():
        if name not in by_env:
            field = next(iter(fields), "attempts").upper()
            known = ", ".join(sorted(queues)) or "none"
            raise ConfigError(f"QUEUE_{name}_{field}: names no queue (queues: {known})")
    resolved: dict[str, QueueOptions] = {}
    for queue, concurrency in queues.items():
        fields = overrides.get(env_name(queue), {})
        resolved[queue] = QueueOptions(
            attempts=int(fields.get("attempts", ATTEMPTS)),
            backoff=float(fields.get("backoff", BACKOFF)),
            concurrency=int(fields.get("concurrency", concurrency or CONCURRENCY)),
        )
    return resolved
