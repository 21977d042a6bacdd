"""What a fire became: the run record every listener (history, alerts, metrics) receives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

OUTCOMES = ("ok", "failed", "timeout", "cancelled", "skipped", "missed", "retrying")
FAILURES = ("failed", "timeout")


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


class RunListener(Protocol):
    """Told of every outcome (ok, failed, timeout, cancelled, skipped, missed) and stuck run.

    Called on the loop, after the run's log line: must return at once (queue, don't await).
    """

    def on_run(self, record: RunRecord) -> None: ...

    def on_stuck(self, stuck: StuckRun) -> None: ...
