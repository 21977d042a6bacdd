"""This replica's clock against Redis's: claims are decided on Redis's `TIME`, and a fire
claimed more than CLAIM_SKEW before its instant is refused as early, so a replica whose
clock runs ahead by more than that can claim no cluster fire at all.

The heartbeat measures the offset on its own round trip (local midpoint against Redis'
`TIME`); this says what it means: a WARNING with the word `clock` at start and on every
change, the figures for the instance record and the heartbeat file (`health --ready`
fails while claims are impossible), and the watchers' call (the alert).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum

from loguru import logger

MARGIN = 0.25
"""Seconds an offset must come back inside CLAIM_SKEW before it counts as in step again:
an offset on the edge does not flap (one warning and alert per change, not per beat)."""
SHIFT = 1.0
"""Seconds an out-of-step offset may move before it is logged again."""


class ClockState(StrEnum):
    OK = "ok"
    AHEAD = "ahead"
    """More than CLAIM_SKEW ahead of Redis: every claim is refused as early."""
    BEHIND = "behind"
    """More than CLAIM_SKEW behind: fires are claimed late (or first by another replica)."""


ClockWatcher = Callable[["ClockCheck"], None]


class ClockCheck:
    """The latest offset of this replica's clock to Redis's, and what follows from it."""

    def __init__(self, *, skew: float = 2.0, roles: Sequence[str] = ("scheduler",)) -> None:
        self.skew = skew
        self.claims = "scheduler" in roles
        """False: a processor-only replica, which never claims (its clock blocks nothing)."""
        self.offset: float | None = None
        """Seconds this clock is ahead of Redis's (negative: behind); None until measured."""
        self.state: ClockState | None = None
        self._logged: float | None = None
        self._watchers: list[ClockWatcher] = []

    @property
    def blocked(self) -> bool:
        """This replica schedules, and its clock is too far ahead to claim any fire."""
        return self.claims and self.state is ClockState.AHEAD

    def watch(self, watcher: ClockWatcher) -> None:
        """Call `watcher` each time the state changes (after its log line)."""
        self._watchers.append(watcher)

    def measured(self, before: float, after: float, redis_time: tuple[int, int]) -> bool:
        """One round trip: local wall clock before and after, Redis' `TIME` (seconds,
        microseconds). True when the state changed."""
        redis_now = int(redis_time[0]) + int(redis_time[1]) / 1_000_000
        return self.observe((before + after) / 2 - redis_now, error=(after - before) / 2)

    def observe(self, offset: float, *, error: float = 0.0) -> bool:
        self.offset = offset
        state = self._judge(offset)
        changed = state is not self.state
        first = self.state is None
        self.state = state
        moved = self._logged is not None and abs(offset - self._logged) >= SHIFT
        if state is not ClockState.OK and (changed or moved):
            self._log_out_of_step(error)
        elif changed and not first:
            logger.bind(clock_offset_s=round(offset, 3), claim_skew_s=self.skew).warning(
                "clock back in step with redis"
            )
            self._logged = None
        if changed and not (first and state is ClockState.OK):
            for watcher in self._watchers:
                watcher(self)
        return changed

    def figures(self) -> dict[str, object]:
        """For the instance record: the offset in ms and the state (None until measured)."""
        offset = None if self.offset is None else round(self.offset * 1000, 1)
        state = None if self.state is None else self.state.value
        return {"clock_offset_ms": offset, "clock": state}

    def _judge(self, offset: float) -> ClockState:
        # Past the skew to leave in step, back inside it by MARGIN to return: no flapping.
        ahead = self.skew - MARGIN if self.state is ClockState.AHEAD else self.skew
        behind = self.skew - MARGIN if self.state is ClockState.BEHIND else self.skew
        if offset > ahead:
            return ClockState.AHEAD
        if offset < -behind:
            return ClockState.BEHIND
        return ClockState.OK

    def _log_out_of_step(self, error: float) -> None:
        assert self.offset is not None
        self._logged = self.offset
        fields = logger.bind(
            clock_offset_s=round(self.offset, 3),
            claim_skew_s=self.skew,
            measured_within_s=round(error, 3),
        )
        if self.state is ClockState.AHEAD and self.claims:
            fields.warning(
                "clock ahead of redis by more than CLAIM_SKEW: this replica can claim no "
                "cluster fire (each is refused as early) until its clock is set right"
            )
        elif self.state is ClockState.AHEAD:
            fields.warning("clock ahead of redis by more than CLAIM_SKEW")
        else:
            fields.warning(
                "clock behind redis by more than CLAIM_SKEW: this replica's cluster fires "
                "are claimed late, or by another replica"
            )
