"""With REDIS_SENTINELS, a `rediss://` REDIS_URL keeps TLS to the master (before: only the
user, password and database were taken from the URL; the master connection was plain TCP)."""

from __future__ import annotations

from redis.asyncio.sentinel import SentinelManagedConnection, SentinelManagedSSLConnection

from worker.connect.redis import make_client

SENTINELS = (("127.0.0.1", 26379),)


def test_a_rediss_url_gives_tls_master_connections() -> None:
    client = make_client(
        "rediss://:secret@redis.example:6380/2?ssl_cert_reqs=none", sentinels=SENTINELS
    )
    pool = client.connection_pool
    assert pool.connection_class is SentinelManagedSSLConnection
    assert pool.connection_kwargs["ssl_cert_reqs"] == "none"
    assert pool.connection_kwargs["password"] == "secret"
    assert pool.connection_kwargs["db"] == 2


def test_a_redis_url_stays_plain() -> None:
    client = make_client("redis://:secret@redis.example:6379/0", sentinels=SENTINELS)
    assert client.connection_pool.connection_class is SentinelManagedConnection
