"""The read model: what `status` (and later metrics and the dashboard) read from Redis."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from worker.state.keys import Keys

if TYPE_CHECKING:
    from redis.asyncio import Redis


class FleetReader:
    """Bounded reads: instance records (SCAN + MGET) and the task summaries hash."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def instances(self) -> list[dict[str, Any]]:
        """Live replicas' records (dead ones expired by TTL), sorted by id."""
        pattern = self._keys.instance_pattern
        found = [key async for key in self._redis.scan_iter(match=pattern, count=500)]
        if not found:
            return []
        values = await self._redis.mget(found)
        records = [json.loads(value) for value in values if value]
        return sorted(records, key=lambda record: str(record.get("id")))

    async def queues(self, prefix: str, names: Sequence[str]) -> list[dict[str, Any]]:
        """Each queue's counts by state and last failures (BullMQ's keys: `state.queues`)."""
        from worker.state.queues import QueueReader

        return await QueueReader(self._redis, prefix).report(names)

    async def summaries(self) -> dict[str, dict[str, Any]]:
        """Each task's newest deciding run, by task name."""
        raw = await self._redis.hgetall(self._keys.task_summaries)
        return {_text(key): json.loads(value) for key, value in raw.items()}


def parse_instant(text: Any) -> datetime | None:
    """An ISO 8601 instant as written in records (`...Z`), or None if it is not one."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
