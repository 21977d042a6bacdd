"""The one deadline a stop (or a start-up) must keep, and how its parts share it."""

from __future__ import annotations

import math
import time

FORCED_EXIT_WITHIN = 1.0
"""After a second signal the rest of the stop gets this long, whatever was left."""
RUN_RESERVE = 1.0
RUN_RESERVE_SHARE = 0.2
"""What runs leave of the deadline for hooks, flushing and closing: 1 s, or a fifth of a
short SHUTDOWN_TIMEOUT."""
CLOSE_SHARE = 0.5
"""A closing step may use half of what is left, so the steps after it always get time."""
MIN_STEP = 0.1
"""Even past the deadline a step gets this long: closing a socket must be tried."""


class Deadline:
    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._at = math.inf

    def start(self) -> None:
        """Begin counting SHUTDOWN_TIMEOUT from now."""
        self._at = time.monotonic() + self._seconds

    def force(self) -> None:
        self._at = min(self._at, time.monotonic() + FORCED_EXIT_WITHIN)

    def remaining(self) -> float:
        return max(self._at - time.monotonic(), 0.0)

    def for_runs(self) -> float:
        return self.remaining() - min(RUN_RESERVE, self._seconds * RUN_RESERVE_SHARE)

    def share(self) -> float:
        return self.remaining() * CLOSE_SHARE

    def step(self) -> float:
        return max(self.remaining(), MIN_STEP)
