"""When recovery looks at the leases next: at the earliest lease deadline, and no sooner.

Recovery sets the next look from what Redis said (the earliest deadline, or none: no lease
anywhere). A claim or a take-over that grants a lease earlier than every lease already
held announces it on the control channel (the claim script publishes it); fleet control
passes it here, and the look moves earlier. A replica with no lease anywhere in the fleet
thus sleeps until a lease appears instead of polling.
"""

from __future__ import annotations

import asyncio
import contextlib

MARGIN = 0.05
"""Seconds after a lease deadline before looking (the deadline is on Redis's clock)."""


class LeaseWatch:
    """The next look at the leases (event loop time); moved earlier by announcements."""

    def __init__(self) -> None:
        self._due: float | None = 0.0  # a first look at start
        self._announced: float | None = None
        """The earliest look asked for by announcements since the current look began."""
        self._changed = asyncio.Event()

    def look_in(self, seconds: float | None) -> None:
        """What the look found: the next one `seconds` from now (None: no lease anywhere),
        or sooner if a lease was announced while it went on."""
        due = None if seconds is None else _now() + max(seconds, 0.0)
        self._due = _earliest(due, self._announced)
        self._changed.set()

    def lease_granted(self, seconds: float) -> None:
        """A lease running `seconds` was granted somewhere: look just after it may end."""
        self._ask(_now() + seconds + MARGIN)

    def look_now(self) -> None:
        """Look at once (fleet control was away: announcements may have been missed)."""
        self._ask(_now())

    def _ask(self, due: float) -> None:
        self._announced = _earliest(due, self._announced)
        if self._due is None or due < self._due:
            self._due = due
            self._changed.set()

    async def wait(self) -> None:
        """Until the next look is due (however often it moves meanwhile)."""
        while True:
            self._changed.clear()
            if self._due is not None and self._due <= _now():
                self._announced = None
                return
            timeout = None if self._due is None else self._due - _now()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def _now() -> float:
    return asyncio.get_running_loop().time()
