"""Redis clients: one factory (`make_client`) for every client the worker makes.

Pool policy, the same for the framework's `redis` (which the tasks get from the container),
bullmq's Queue and Worker connections and the read model's (`status`, the dashboard):

- Connecting and every reply: within `timeout` (REDIS_TIMEOUT, 5 s by default; 3 s for the
  commands' reach). bullmq's Worker connections wait up to 15 s for a reply (above the 10 s
  BZPOPMIN they block on), still connecting within DEFAULT_TIMEOUT.
- Connections: at most MAX_CONNECTIONS per client, opened on first use (a Redis outage does
  not stop start-up), each TCP one with KEEPALIVE and PINGed when idle IDLE_CHECK_INTERVAL.
  A command that finds them all busy waits for one, at most `timeout`, then fails with
  `PoolExhausted`, which is no outage (`worker.connect.pools`).
- Retry (`retry=`): "none" by default: a lost PUBLISH reply is never re-sent without a
  word, every loop retries in its own way (`worker.connect.retry`). "read": a read is
  sent once more on a dropped connection (reads are safe to send twice). "bullmq": what
  bullmq gives the connections it makes itself (20 attempts, 1 s doubling up to 20 s).
- Sentinel: with REDIS_SENTINELS, the master they name, followed across a failover; the
  user, password, database and TLS (`rediss://`) still come from REDIS_URL.
- Replies: bytes (`text()` reads one as text); decoded (`decode=True`) only for bullmq,
  which needs it (a shared client breaks it silently).
- Name: CLIENT_NAME, or the caller's (the dashboard names its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from redis.asyncio import Redis

DEFAULT_TIMEOUT = 5.0
MAX_CONNECTIONS = 100
"""Per client (redis-py 8's default, stated so that every redis-py the range allows behaves
the same); a command waits for a free one rather than fail at once."""
IDLE_CHECK_INTERVAL = 30.0
"""A connection idle this long is PINGed before its next command: a half-open one shows then."""
KEEPALIVE = {"idle": 10, "interval": 5, "count": 3}
"""TCP keepalive: a peer that vanished (host lost, cable cut) is noticed in ~25 s when idle."""
CLIENT_NAME = "crypto-stats-worker"
RetryPolicy = Literal["none", "read", "bullmq"]


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


async def redis_resource(
    url: str,
    timeout: float = DEFAULT_TIMEOUT,
    sentinels: tuple[tuple[str, int], ...] = (),
    master: str = "mymaster",
) -> AsyncIterator[Redis]:
    """`providers.Resource(redis_resource, url=...)`: the framework's client (and the tasks'),
    closed at shutdown."""
    client = make_client(url, timeout=timeout, sentinels=sentinels, master=master)
    try:
        yield client
    finally:
        await close_client(client)


async def close_client(client: Redis) -> None:
    """Close `client`'s connections, and those to the Sentinels that found its master."""
    from redis.asyncio.sentinel import SentinelConnectionPool

    await client.aclose()
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        for sentinel in pool.sentinel_manager.sentinels:
            await sentinel.aclose()


def make_client(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    sentinels: tuple[tuple[str, int], ...] = (),
    master: str = "mymaster",
    name: str | None = None,
    retry: RetryPolicy = "none",
    decode: bool = False,
    read_timeout: float | None = None,
    encoding_errors: str = "strict",
) -> Redis:
    """A client for `url` (or the master `sentinels` name) under the module's pool policy.

    `timeout` bounds connecting and every reply; `read_timeout`, when given, replaces it for
    replies only (bullmq's blocking reads). `encoding_errors`: how a decoding client reads
    bytes that are not UTF-8 (`surrogateescape` keeps them, for the reader to refuse).
    """
    options: dict[str, Any] = {
        "socket_timeout": timeout if read_timeout is None else read_timeout,
        "socket_connect_timeout": timeout,
        "health_check_interval": IDLE_CHECK_INTERVAL,
        "max_connections": MAX_CONNECTIONS,
        "client_name": name or CLIENT_NAME,
        "decode_responses": decode,
        "encoding_errors": encoding_errors,
        **_retry_options(retry),
    }
    if sentinels or not url.lower().startswith("unix:"):
        options.update(socket_keepalive=True, socket_keepalive_options=keepalive_options())
    if sentinels:
        return _master_client(url, sentinels, master, timeout, options)
    from redis.asyncio import Redis

    from worker.connect.pools import WaitingPool

    # As Redis.from_url, with a pool that waits up to `timeout` for a free connection.
    pool = WaitingPool.from_url(url, timeout=timeout, **options)
    client: Redis = Redis.from_pool(pool)
    return client


def _master_client(
    url: str,
    sentinels: tuple[tuple[str, int], ...],
    master: str,
    timeout: float,
    options: dict[str, Any],
) -> Redis:
    """The master `sentinels` name, with `options` and REDIS_URL's credentials and TLS."""
    from redis.asyncio.sentinel import Sentinel

    from worker.connect.pools import SentinelWaitingPool

    auth = master_auth(url)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(sentinels),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        sentinel_kwargs={"socket_timeout": timeout, "socket_connect_timeout": timeout},
    )
    client: Redis = sentinel.master_for(
        master, connection_pool_class=SentinelWaitingPool, timeout=timeout, **{**options, **auth}
    )
    return client


def master_auth(url: str) -> dict[str, Any]:
    """What a Sentinel-named master is reached with: REDIS_URL's user, password, database,
    and TLS with the URL's ssl_* options for `rediss://`."""
    from redis.connection import parse_url

    parsed = parse_url(url)  # type: ignore[no-untyped-call]
    auth = {k: parsed[k] for k in ("username", "password", "db") if parsed.get(k) is not None}
    if url.lower().startswith("rediss:"):
        auth.update({k: v for k, v in parsed.items() if k.startswith("ssl_")}, ssl=True)
    return auth


def _retry_options(policy: RetryPolicy) -> dict[str, Any]:
    """The client options of a retry policy (the asyncio `Retry`: the synchronous one would
    not await what it retries)."""
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff, NoBackoff
    from redis.exceptions import BusyLoadingError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    if policy == "read":
        return {"retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))}
    if policy == "bullmq":
        return {
            "retry": Retry(ExponentialBackoff(cap=20, base=1), 20),
            "retry_on_error": [BusyLoadingError, RedisConnectionError, RedisTimeoutError],
        }
    return {"retry": Retry(NoBackoff(), 0)}


def text(value: object) -> str:
    """A Redis reply as text: bytes decoded (UTF-8), anything else as `str()` gives it."""
    return value.decode() if isinstance(value, bytes) else str(value)


def text_or_none(value: object) -> str | None:
    """`text`, except that no value (a missing field) stays None."""
    return None if value is None else text(value)


def texts(raw: Mapping[Any, Any] | None) -> dict[str, str]:
    """A hash reply (bytes or text, or none) as text fields."""
    return {text(k): text(v) for k, v in (raw or {}).items()}


def keepalive_options() -> dict[int, int]:
    """The TCP keepalive options this platform has (Linux has all three)."""
    names = {"idle": "TCP_KEEPIDLE", "interval": "TCP_KEEPINTVL", "count": "TCP_KEEPCNT"}
    options = {vars(socket).get(names[key]): value for key, value in KEEPALIVE.items()}
    return {option: value for option, value in options.items() if isinstance(option, int)}


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
    name = text(role[0])
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
