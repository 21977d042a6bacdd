"""Helpers of the queue tests: enqueue as the worker does, read bullmq's keys."""

from __future__ import annotations

import json
from typing import Any

import redis

from worker.queues.queues import Queues

QUEUE = "coin-sync"


async def enqueue(
    url: str,
    coin: str,
    *,
    job_id: str | None = None,
    delay: float | None = None,
    **overrides: float,
) -> str:
    """One `sync-coin` job, with the shipped defaults (or QUEUE_COIN_SYNC_* style overrides),
    due now or `delay` seconds from now."""
    queues = Queues(url=url, prefix="bull", overrides={"COIN_SYNC": overrides}, timeout=5.0)
    try:
        return await queues.add(QUEUE, "sync-coin", {"coin": coin}, job_id=job_id, delay=delay)
    finally:
        await queues.close()


def job(client: redis.Redis, job_id: str) -> dict[str, str]:
    raw: Any = client.hgetall(f"bull:{QUEUE}:{job_id}")
    return {k.decode(): v.decode() for k, v in raw.items()}


def in_state(client: redis.Redis, state: str) -> list[str]:
    key = f"bull:{QUEUE}:{state}"
    found: Any = (
        client.lrange(key, 0, -1) if state in ("wait", "active") else client.zrange(key, 0, -1)
    )
    return [value.decode() for value in found]


def stats(client: redis.Redis, coin: str) -> dict[str, Any] | None:
    raw: Any = client.get(f"crypto:stats:{coin}")
    return None if raw is None else dict(json.loads(raw))


def queue_env(api_url: str, **extra: str) -> dict[str, str]:
    """A processor-only worker of the shipped app against the test price API."""
    env = {"WORKER_ROLES": "processor", "PRICE_API_URL": api_url, "COINS": "bitcoin"}
    env.update(extra)
    return env
