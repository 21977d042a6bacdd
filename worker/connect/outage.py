"""Rate-limited outage reporting and reconnect backoff for one remote service.

One line when an outage begins, a summary every `log_interval` while it lasts, one line
when it ends: an outage is an event, not a traceback per failed call.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from loguru import logger

from worker.connect.errors import describe_error


class OutageMonitor:
    """Tracks whether a service is reachable, as seen by every caller that talks to it."""

    def __init__(self, service: str = "redis", log_interval: float = 30.0) -> None:
        self._service = service
        self._log_interval = log_interval
        self._down_since: float | None = None
        self._down_since_wall: float | None = None
        self._last_log = 0.0
        self._failures = 0
        self._watchers: list[Callable[[], None]] = []

    @property
    def down(self) -> bool:
        return self._down_since is not None

    @property
    def down_since(self) -> float | None:
        """Wall-clock time (epoch seconds) the outage began; None while the service is up."""
        return self._down_since_wall

    def watch(self, callback: Callable[[], None]) -> None:
        """Call `callback` (no arguments, must not raise) when an outage starts or ends."""
        self._watchers.append(callback)

    def failure(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._failures += 1
        log = logger.bind(service=self._service)
        if self._down_since is None:
            self._down_since = self._last_log = now
            self._down_since_wall = time.time()
            log.warning("outage started error={!r}", describe_error(exc))
            self._changed()
        elif now - self._last_log >= self._log_interval:
            self._last_log = now
            log.bind(down_s=round(now - self._down_since, 1), attempts=self._failures).warning(
                "outage continues error={!r}", describe_error(exc)
            )

    def success(self) -> None:
        if self._down_since is None:
            return
        duration = time.monotonic() - self._down_since
        logger.bind(
            service=self._service, down_s=round(duration, 1), attempts=self._failures
        ).warning("outage ended")
        self._down_since = self._down_since_wall = None
        self._failures = 0
        self._changed()

    def _changed(self) -> None:
        for callback in self._watchers:
            callback()


class Backoff:
    """Exponential reconnect delays, 0.1 s doubling up to 1 s, each drawn from its upper half
    so that replicas that lost Redis together do not come back in lockstep."""

    def __init__(self, initial: float = 0.1, cap: float = 1.0) -> None:
        self._initial = initial
        self._cap = cap
        self._next = initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self._cap)
        return delay / 2 + random.uniform(0, delay / 2)

    def reset(self) -> None:
        self._next = self._initial
