"""Trigger target lane state in Redis: each instance writes its lanes (`status` reads them
through `worker.state.target_status`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker.connect.redis import redis_deadline
from worker.state.keys import Keys

if TYPE_CHECKING:
    from redis.asyncio import Redis


LaneSnapshot = dict[str, Any]
"""One lane as its instance sees it: target, last_delivered, delivered_at, pending,
pending_missed, maybe_delivered, failing_since (times in epoch seconds)."""


class TargetLanes:
    """Writes this instance's lanes to the lane state hashes (`Keys.target`)."""

    def __init__(self, redis: Redis, *, keys: Keys, timeout: float) -> None:
        self._redis = redis
        self._keys = keys
        self._timeout = timeout

    async def write(self, instance_id: str, snapshots: Iterable[LaneSnapshot]) -> None:
        async with redis_deadline(self._timeout):
            pipe = self._redis.pipeline(transaction=False)
            for snapshot in snapshots:
                value = {**snapshot, "instance": instance_id, "updated_at": _now()}
                pipe.hset(self._keys.target(snapshot["target"]), instance_id, json.dumps(value))
            await pipe.execute()


def _now() -> float:
    return round(datetime.now(UTC).timestamp(), 3)
