"""What a fire became: the run record every listener (history, alerts, metrics) receives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

OUTCOMES = (
    "ok",
    "failed",
    "timeout",
    "cancelled",
    "skipped",
    "missed",
    "retrying",
    "abandoned",
)
FAILURES = ("failed", "timeout", "abandoned")
"""Outcomes that continue a task's streak of failures (`abandoned`: recovered
CLAIM_MAX_RECOVERIES times and never finished)."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One fire's outcome; appended to the run history."""

    task: str
    fire_id: str
    scheduled_for: str
    started_at: str
    outcome: str
    duration_ms: float
    lag_ms: float
    missed: int
    instance: str
    error: str | None = None
    consecutive_failures: int = 0
    recovered: bool = False
    targets_delivered: str = ""
    """Trigger targets (comma list) that had the run's fire when it ended."""
    targets_pending: str = ""
    """Trigger targets still delivering it then (their lanes go on after the run)."""

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict (what `dataclasses.asdict` gives, without its deep copies)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def log_fields(self) -> dict[str, Any]:
        """The fields of the run's log line; empty ones left out."""
        fields: dict[str, Any] = {
            "task": self.task,
            "outcome": self.outcome,
            "scheduled_for": self.scheduled_for,
            "lag_ms": self.lag_ms,
            "duration_ms": self.duration_ms,
        }
        if self.missed:
            fields["missed"] = self.missed
        if self.error:
            fields["error"] = self.error
        if self.consecutive_failures:
            fields["consecutive_failures"] = self.consecutive_failures
        if self.recovered:
            fields["recovered"] = True
        if self.targets_pending:
            fields["targets_pending"] = self.targets_pending
        return fields


@dataclass(frozen=True, slots=True)
class StuckRun:
    """A run going on well past what its task should take (see `Runner`)."""

    task: str
    fire_id: str
    running_since: datetime
    limit_s: float


class RunListener:
    """An observer of the worker: every run outcome (ok, failed, timeout, cancelled, skipped,
    missed, retrying), stuck runs, claims, trigger deliveries, target health, queue sizes.

    Every hook does nothing here: a listener overrides those it wants. Hooks are called on
    the loop (after the run's log line for `on_run`) and must return at once (queue, don't
    await).
    """

    __slots__ = ()

    wants_queue_counts: ClassVar[bool] = False
    """True: the queue processors read their queues' job counts for `queue_counts`."""

    def on_run(self, record: RunRecord) -> None:
        """A fire's or a job attempt's record."""

    def on_stuck(self, stuck: StuckRun) -> None:
        """A run going on well past what its task should take."""

    def on_claim(self, task: str, result: str) -> None:
        """A cluster claim answered (`won`, `busy`, `done`, …) or a fire `recovered`."""

    def on_loop_blocked(self, task: str, seconds: float) -> None:
        """The event loop was held `seconds` (by `task`, as far as the watch saw)."""

    def on_delivery(self, target: str, result: str) -> None:
        """A trigger send ended (`delivered`, `failed`, `timeout`, `folded`, `dropped`)."""

    def on_target(self, target: str, state: str, failures: int, error: str | None) -> None:
        """A trigger target's lane started `failing` (ALERT_AFTER_FAILURES sends) or `recovered`."""

    def queue_counts(self, queue: str, counts: dict[str, int]) -> None:
        """A queue's jobs by state (only while `wants_queue_counts`)."""
