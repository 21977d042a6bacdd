"""The fire a run stands for, and `current_fire()` for the running method."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from worker.protocol import TakenOver, format_instant, manual_id, scheduled_id


@dataclass(slots=True)
class Fire:
    """One scheduled instant of a task; mutable because newer fires fold into a running one.

    `scheduled_for` and `id` always name the newest fire the run stands for, and `missed`
    counts the older ones it replaced, so a retrying run sends the newest fire.
    """

    task: str
    scheduled_for: datetime
    missed: int = 0
    precise: bool = False
    manual: str | None = None
    """A run asked for by hand (`worker trigger`, `run_now`): its token names the fire."""
    takeover: TakenOver | None = None
    """The claim taken over from a replica that died mid-run: the run is admitted on it."""
    oldest: datetime | None = None
    """The oldest instant this run stands for (its first due fire, before any fold)."""
    _stamp: tuple[datetime, str] | None = field(default=None, init=False, repr=False, compare=False)
    targets: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    """Trigger targets this run published to: `delivered` or `pending` (worker/targets)."""
    claim_lost: bool = field(default=False, repr=False, compare=False)
    """The fleet's claim on this fire is no longer this replica's (taken over elsewhere, or
    its lease left to run out): newer fires do not fold into its run here."""

    @property
    def stamp(self) -> str:
        """`scheduled_for` as ISO 8601 UTC (formatted once per instant: it is read often)."""
        if self._stamp is None or self._stamp[0] != self.scheduled_for:
            self._stamp = (
                self.scheduled_for,
                format_instant(self.scheduled_for, precise=self.precise),
            )
        return self._stamp[1]

    @property
    def id(self) -> str:
        if self.manual is not None:
            return manual_id(self.task, self.manual)
        return scheduled_id(self.task, self.stamp)

    @property
    def recovered(self) -> bool:
        """Taken over from a replica that died mid-run (same fire id)."""
        return self.takeover is not None

    def lose_claim(self) -> None:
        self.claim_lost = True

    def fold(self, newer: datetime, count: int = 1) -> None:
        """Take over a newer fire that arrived while this one's run was still going."""
        if newer > self.scheduled_for:
            self.scheduled_for = newer
            self.manual = None
        self.missed += count


_current: ContextVar[Fire] = ContextVar("worker_current_fire")


def current_fire() -> Fire:
    """The fire of the task run in progress (raises RuntimeError outside a run)."""
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError("current_fire() called outside a task run") from None


def set_current_fire(fire: Fire) -> None:
    _current.set(fire)
