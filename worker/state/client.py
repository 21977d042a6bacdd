"""A Redis client for readers of the state (the dashboard): bounded, and retrying a read
once on a dropped connection (reads are safe to send twice; writers never retry)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from worker.settings.base import WorkerSettings


def read_client(settings: WorkerSettings, *, timeout: float, name: str) -> Redis:
    """A client for REDIS_URL (or its Sentinel master) that gives up after `timeout` seconds
    (`worker.connect.redis.make_client`, retry policy "read").

    Nothing is sent until the first read: a reader starts while Redis is down.
    """
    from worker.connect.redis import make_client

    return make_client(
        settings.redis_url_value(),
        timeout=timeout,
        sentinels=settings.sentinels,
        master=settings.redis_sentinel_master,
        name=name,
        retry="read",
    )
