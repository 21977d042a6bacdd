"""Which errors are an outage of which service, told by where they come from.

An outage is "the server is not reachable right now", reported as a rate-limited event,
not as a task failure with a traceback. A task's own TimeoutError (its `asyncio.wait_for`)
or a refused HTTP connection is the task's failure, not a Redis outage; nor is a client
whose connections were all busy (MaxConnectionsError: the server answers).
"""

from __future__ import annotations

from types import TracebackType


def outage_of(exc: BaseException) -> str | None:
    """The service `exc` says is unreachable (`"redis"`), or None when it is no outage."""
    from redis.exceptions import BusyLoadingError, MaxConnectionsError, ReadOnlyError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    if isinstance(exc, MaxConnectionsError):  # a ConnectionError by class, not by cause
        return None
    # READONLY: a failover demoted the server under us; like a lost connection, it passes.
    if isinstance(exc, RedisConnectionError | RedisTimeoutError | BusyLoadingError | ReadOnlyError):
        return "redis"
    if isinstance(exc, ConnectionError | TimeoutError) and _raised_in(exc.__traceback__, "redis"):
        return "redis"  # a socket error redis-py let through unwrapped
    return None


def is_redis_outage(exc: BaseException) -> bool:
    return outage_of(exc) == "redis"


def describe_error(exc: BaseException) -> str:
    """`Type: first line of the message`: one line for a log field or a record."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _raised_in(tb: TracebackType | None, package: str) -> bool:
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module == package or module.startswith(f"{package}."):
            return True
        tb = tb.tb_next
    return False
