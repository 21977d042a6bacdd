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
CANCEL_SHARE = 0.5
"""Of that reserve, cancelled runs may take this share to unwind (and be recorded)."""
CLOSE_SHARE = 0.5
"""A closing step may use half of what is left, so the steps after it always get time."""
MIN_STEP = 0.1
"""Even past the deadline a step gets this long: closing a socket must be tried."""


class Deadline:
    """SHUTDOWN_TIMEOUT from `start()` (start-up) or `stop()` (the way out, counted once)."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._at = math.inf
        self.stopping = False

    def start(self) -> None:
        """Start-up's own budget (hooks, resources): SHUTDOWN_TIMEOUT from now."""
        self._at = time.monotonic() + self._seconds

    def stop(self) -> None:
        """The way out begins: SHUTDOWN_TIMEOUT from now, once, whoever asks first."""
        if not self.stopping:
            self.stopping = True
            self._at = time.monotonic() + self._seconds

    def force(self) -> None:
        self.stop()
        self._at = min(self._at, time.monotonic() + FORCED_EXIT_WITHIN)

    def remaining(self) -> float:
        return max(self._at - time.monotonic(), 0.0)

    def reserve(self) -> float:
        return min(RUN_RESERVE, self._seconds * RUN_RESERVE_SHARE)

    def for_runs(self) -> float:
        return self.remaining() - self.reserve()

    def for_cancelled_runs(self) -> float:
        return min(self.reserve() * CANCEL_SHARE, self.remaining())

    def share(self) -> float:
        return max(self.remaining() * CLOSE_SHARE, MIN_STEP)

    def step(self) -> float:
        return max(self.remaining(), MIN_STEP)
