"""Outage-aware retries: try, tell an outage from a failure, report it, back off.

Every loop that talks to Redis or a trigger target goes through one `OutageRetry`: the
`OutageMonitor` hears each outage failure (its rate-limited lines) and each recovery, and
the delays between attempts come from one `Backoff`. What counts as an outage is the
caller's (`is_redis_outage` unless told); what to do with any other error stays the
caller's too (`call` raises it, the step methods leave it to the loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from worker.connect.errors import is_redis_outage
from worker.connect.outage import Backoff, OutageMonitor

T = TypeVar("T")


def every_error(exc: BaseException) -> bool:
    """For a service whose every failed call is its outage (a trigger target's lane)."""
    return True


class OutageRetry:
    """One loop's retries against one service.

    `await retry.call(operation)`: until it succeeds, retrying outages. Loops with their own
    shape use the steps: `failed(exc)` (reported when an outage), `await wait()` (the next
    delay), `succeeded()` (recovery reported, delays start over). `outage` and `backoff`
    are the parts, for a loop that needs only one of the two halves of `succeeded`.
    """

    def __init__(
        self,
        outage: OutageMonitor,
        *,
        is_outage: Callable[[BaseException], bool] = is_redis_outage,
        backoff: Backoff | None = None,
    ) -> None:
        self.outage = outage
        self.backoff = backoff or Backoff()
        self._is_outage = is_outage

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """`operation()`'s result, retried with backoff while it fails with an outage; any
        other error goes up at once. The monitor hears every failure and the success."""
        while True:
            try:
                result = await operation()
            except Exception as exc:
                if not self.failed(exc):
                    raise
                await self.wait()
                continue
            self.succeeded()
            return result

    def failed(self, exc: BaseException) -> bool:
        """Whether `exc` is an outage; one is reported to the monitor."""
        if not self._is_outage(exc):
            return False
        self.outage.failure(exc)
        return True

    def succeeded(self) -> None:
        """The service answered: the monitor hears it, the next delay starts over."""
        self.outage.success()
        self.backoff.reset()

    def delay(self, cap: float | None = None) -> float:
        """The next delay (seconds), at most `cap`."""
        delay = self.backoff.next()
        return delay if cap is None else min(delay, cap)

    async def wait(self) -> None:
        await asyncio.sleep(self.backoff.next())
