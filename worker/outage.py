"""Rate-limited outage reporting and reconnect backoff for one remote service (Redis).

One line when an outage begins, a summary every `log_interval` while it lasts, one line
when it ends: an outage is an event, not a traceback per failed call.
"""

from __future__ import annotations

import time

from loguru import logger


def is_connection_error(exc: BaseException) -> bool:
    """Errors that mean "the server is not reachable right now", not "the task is broken".

    Redis' own connection and timeout errors (command deadlines raise the latter) and the
    builtin ConnectionError family; a task's FileNotFoundError or TimeoutError is a failure.
    """
    from redis.exceptions import BusyLoadingError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(
        exc, RedisConnectionError | RedisTimeoutError | BusyLoadingError | ConnectionError
    )


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class OutageMonitor:
    """Tracks whether a service is reachable, as seen by every caller that talks to it."""

    def __init__(self, service: str = "redis", log_interval: float = 30.0) -> None:
        self._service = service
        self._log_interval = log_interval
        self._down_since: float | None = None
        self._last_log = 0.0
        self._failures = 0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failure(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._failures += 1
        log = logger.bind(service=self._service)
        if self._down_since is None:
            self._down_since = self._last_log = now
            log.warning("outage started error={!r}", describe_error(exc))
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
        self._down_since = None
        self._failures = 0


class Backoff:
    """Exponential reconnect delays: 0.1 s, 0.2 s, 0.4 s … capped at 1 s."""

    def __init__(self, initial: float = 0.1, cap: float = 1.0) -> None:
        self._initial = initial
        self._cap = cap
        self._next = initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self._cap)
        return delay

    def reset(self) -> None:
        self._next = self._initial
