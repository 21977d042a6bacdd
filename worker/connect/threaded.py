"""A blocking Redis client for a thread of the worker's own (the lease keeper): what the
event loop cannot stop, because it never waits on the loop.

One connection, made on first use; connecting and every reply within `timeout`; no retry
(the thread retries in its own way); with REDIS_SENTINELS, the master they name, followed
across a failover. The user, password, database and TLS come from REDIS_URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from worker.connect.redis import CLIENT_NAME, keepalive_options, master_auth

if TYPE_CHECKING:
    import redis


def make_thread_client(
    url: str,
    *,
    timeout: float,
    sentinels: tuple[tuple[str, int], ...] = (),
    master: str = "mymaster",
    name: str | None = None,
) -> redis.Redis:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "client_name": name or CLIENT_NAME,
        "max_connections": 2,
        "retry": Retry(NoBackoff(), 0),
    }
    if sentinels or not url.lower().startswith("unix:"):
        options.update(socket_keepalive=True, socket_keepalive_options=keepalive_options())
    if not sentinels:
        return redis.Redis.from_url(url, **options)
    from redis.sentinel import Sentinel

    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(sentinels),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        sentinel_kwargs={"socket_timeout": timeout, "socket_connect_timeout": timeout},
    )
    auth = master_auth(url)
    client: redis.Redis = sentinel.master_for(master, **{**options, **auth})  # type: ignore[no-untyped-call]
    return client
