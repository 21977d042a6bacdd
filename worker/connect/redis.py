"""Redis clients: bounded everywhere a socket can hang, no silent re-sends, closed at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis

DEFAULT_TIMEOUT = 5.0
IDLE_CHECK_INTERVAL = 30.0
"""A connection idle this long is PINGed before its next command: a half-open one shows then."""
KEEPALIVE = {"idle": 10, "interval": 5, "count": 3}
"""TCP keepalive: a peer that vanished (host lost, cable cut) is noticed in ~25 s when idle."""


@contextlib.asynccontextmanager
async def redis_deadline(seconds: float = DEFAULT_TIMEOUT) -> AsyncIterator[None]:
    """Bound a block of Redis commands below the socket timeout.

    Only this deadline's own expiry becomes redis' TimeoutError (an outage); a TimeoutError
    raised inside the block by anything else passes through unchanged.
    """
    from redis.exceptions import TimeoutError as RedisTimeoutError

    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            yield
    except TimeoutError:
        if not deadline.expired():
            raise
        raise RedisTimeoutError(f"no reply from redis within {seconds:g}s") from None


def make_redis(
    url: str, *, timeout: float = DEFAULT_TIMEOUT, name: str | None = None, **extra: Any
) -> Redis:
    """A client whose every command and connect gives up after `timeout` seconds.

    redis-py's own retry is off: it would re-send a PUBLISH after a lost reply without a
    word; every caller retries in its own loop instead, with its own backoff.
    """
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry  # an asyncio client's (redis.retry's is for sync ones)
    from redis.backoff import NoBackoff

    tcp: dict[str, Any] = {}
    if not url.lower().startswith("unix:"):
        tcp = {"socket_keepalive": True, "socket_keepalive_options": _keepalive_options()}
    options: dict[str, Any] = {
        "retry": Retry(NoBackoff(), 0),
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "health_check_interval": IDLE_CHECK_INTERVAL,
        "client_name": name or "crypto-stats-worker",
        **tcp,
    }
    client: Redis = Redis.from_url(url, **{**options, **extra})
    return client


async def redis_resource(
    url: str,
    timeout: float = DEFAULT_TIMEOUT,
    sentinels: tuple[tuple[str, int], ...] = (),
    master: str = "mymaster",
) -> AsyncIterator[Redis]:
    """`providers.Resource(redis_resource, url=...)`: no connection is made until first use,
    so a Redis outage does not stop start-up."""
    client = make_client(url, timeout=timeout, sentinels=sentinels, master=master)
    try:
        yield client
    finally:
        await client.aclose()


def make_client(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    sentinels: tuple[tuple[str, int], ...] = (),
    master: str = "mymaster",
    name: str | None = None,
    **extra: Any,
) -> Redis:
    """`make_redis`, or with REDIS_SENTINELS the master Sentinel names (followed across a
    failover); the password, user, database and TLS (`rediss://`) still come from REDIS_URL.
    `extra`: client options replacing the defaults (bullmq's `decode_responses`)."""
    if not sentinels:
        return make_redis(url, timeout=timeout, name=name, **extra)
    from redis.asyncio.retry import Retry
    from redis.asyncio.sentinel import Sentinel
    from redis.backoff import NoBackoff
    from redis.connection import parse_url

    options = parse_url(url)  # type: ignore[no-untyped-call]
    auth = {k: options[k] for k in ("username", "password", "db") if options.get(k) is not None}
    if url.lower().startswith("rediss:"):  # TLS to the master too, with the URL's ssl_* options
        auth.update({k: v for k, v in options.items() if k.startswith("ssl_")}, ssl=True)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(sentinels),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        sentinel_kwargs={"socket_timeout": timeout, "socket_connect_timeout": timeout},
    )
    options = {
        "retry": Retry(NoBackoff(), 0),
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "socket_keepalive": True,
        "socket_keepalive_options": _keepalive_options(),
        "health_check_interval": IDLE_CHECK_INTERVAL,
        "client_name": name or "crypto-stats-worker",
    }
    client: Redis = sentinel.master_for(master, **{**options, **auth, **extra})
    return client


def _keepalive_options() -> dict[int, int]:
    names = {"idle": "TCP_KEEPIDLE", "interval": "TCP_KEEPINTVL", "count": "TCP_KEEPCNT"}
    return {
        getattr(socket, names[key]): value
        for key, value in KEEPALIVE.items()
        if hasattr(socket, names[key])
    }


async def check_primary(client: Redis, where: str) -> None:
    """Refuse a read-only replica: writes would fail, and PUBLISH on it reaches no
    subscriber of the primary. Errors reaching the server go up as they are."""
    from redis.exceptions import ResponseError

    from worker.errors import ConfigError

    try:
        role = await client.execute_command("ROLE")  # type: ignore[no-untyped-call]
    except ResponseError as exc:
        if "NOPERM" in str(exc) or "unknown command" in str(exc):
            return  # an ACL user without ROLE, or a proxy: nothing to tell
        raise
    name = role[0].decode() if isinstance(role[0], bytes) else str(role[0])
    if name != "master":
        raise ConfigError(
            f"REDIS_URL: {where} is a read-only {name}, not the primary (point it at the primary)"
        )


async def reach(client: Redis, where: str, timeout: float) -> None:
    """PING and ROLE within `timeout`: the one-line errors of `check`, `status`, `run-task`.

    Refused credentials, a refused database or a replica are a ConfigError (78); no answer
    is an UnavailableError (69). `where` is the URL without its password.
    """
    from redis.exceptions import AuthenticationError, AuthorizationError, ResponseError

    from worker.connect.errors import describe_error
    from worker.errors import ConfigError, UnavailableError

    try:
        async with asyncio.timeout(timeout):
            await client.ping()
            await check_primary(client, where)
    except (AuthenticationError, AuthorizationError) as exc:
        raise ConfigError(f"REDIS_URL: {where}: authentication failed ({exc})") from None
    except ResponseError as exc:
        # The server answered and refused what the URL asks for (a password, a database).
        if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
            raise ConfigError(f"REDIS_URL: {where}: authentication failed ({exc})") from None
        raise ConfigError(f"REDIS_URL: {where}: refused: {describe_error(exc)}") from None
    except ConfigError:
        raise
    except Exception as exc:
        reason = describe_error(exc) if str(exc) else f"no answer within {timeout:g}s"
        raise UnavailableError(f"REDIS_URL: cannot reach redis at {where}: {reason}") from None
