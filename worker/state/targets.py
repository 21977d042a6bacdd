"""Trigger target lane state in Redis: each instance writes its lanes (`status` reads them
through `worker.state.target_status`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker.connect.redis import redis_deadline, text
from worker.state.keys import Keys
from worker.state.target_status import parse_lane

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

    async def retire(self, instance_id: str, targets: Sequence[str]) -> int:
        """Drops the lanes of dead replicas (gone from the instance index, which keeps an id
        minutes after its record expired, and without a record: a replica of a version before
        the index writes only that), keeping per target the dead lane with the newest
        delivery, whose `last_delivered` still counts. Each start calls it, so a hash holds
        the live replicas' lanes and one more, however often the fleet restarts. Returns how
        many went."""
        if not targets:
            return 0
        async with redis_deadline(self._timeout):
            pipe = self._redis.pipeline(transaction=False)
            pipe.zrange(self._keys.instances, 0, -1)
            for target in targets:
                pipe.hgetall(self._keys.target(target))
            indexed, *replies = await pipe.execute()
            lanes = [{text(f): v for f, v in raw.items()} for raw in replies]
            live = {text(member) for member in indexed} | {instance_id}
            unknown = sorted({field for raw in lanes for field in raw} - live)
            if unknown:  # records without an index entry: older replicas, still alive
                found = await self._redis.mget([self._keys.instance(i) for i in unknown])
                live |= {i for i, record in zip(unknown, found, strict=True) if record}
            pipe = self._redis.pipeline(transaction=False)
            dropped = 0
            for target, raw in zip(targets, lanes, strict=True):
                dead = {field: _delivered_at(v) for field, v in raw.items() if field not in live}
                newest = max(dead, key=lambda field: dead[field], default=None)
                gone = [f for f in dead if f != newest or dead[f] == 0]
                if gone:
                    pipe.hdel(self._keys.target(target), *gone)
                    dropped += len(gone)
            if dropped:
                await pipe.execute()
        return dropped


def _delivered_at(raw: bytes | str) -> float:
    """When a lane last delivered (epoch s); 0 for never, or for a value that is no lane."""
    lane = parse_lane(raw)
    return (lane["delivered_at"] or 0.0) if lane is not None else 0.0


def _now() -> float:
    return round(datetime.now(UTC).timestamp(), 3)
