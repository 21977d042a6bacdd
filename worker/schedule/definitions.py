"""A task as the scheduler and the run wrapper see it: effective schedule, scope and limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from worker.schedule.cron import Schedule, describe, is_subsecond
from worker.schedule.decorators import Scope
from worker.schedule.timing import next_fire


@dataclass(frozen=True, slots=True)
class TaskDefinition:
    """Everything the scheduler and the run wrapper need to know about one task."""

    name: str
    provider: str
    attribute: str
    schedule: Schedule
    scope: Scope
    timezone: tzinfo
    time_limit: float
    disabled: bool
    is_async: bool
    recover: bool = True
    """Cluster tasks: a fire whose claimer died mid-run is run again elsewhere (same id)."""

    @property
    def aligned(self) -> bool:
        """Cluster intervals fire on epoch multiples so every replica agrees on the instants."""
        return self.scope == "cluster"

    @property
    def precise(self) -> bool:
        return is_subsecond(self.schedule)

    def describe(self) -> str:
        return describe(self.schedule)

    def next_fire(self, now: datetime) -> datetime | None:
        if self.disabled:
            return None
        return next_fire(self.schedule, timezone=self.timezone, aligned=self.aligned, now=now)
