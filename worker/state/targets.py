"""Trigger target lane state in Redis: each instance writes its lanes, `status` merges them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker.connect.redis import redis_deadline
from worker.state.keys import Keys

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclass(frozen=True, slots=True)
class LaneSnapshot:
    """One lane as its instance sees it; times are epoch seconds."""

    target: str
    last_delivered: str | None
    delivered_at: float | None
    pending: str | None
    pending_missed: int
    maybe_delivered: str | None
    failing_since: float | None


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
                value = {**asdict(snapshot), "instance": instance_id, "updated_at": _now()}
                pipe.hset(self._keys.target(snapshot.target), instance_id, json.dumps(value))
            await pipe.execute()


async def read_lanes(redis: Redis, keys: Keys) -> dict[str, list[dict[str, Any]]]:
    """Every instance's lane, by target name (what `FleetReader.target_lanes` gives)."""
    found = [key async for key in redis.scan_iter(match=keys.target_pattern)]
    lanes: dict[str, list[dict[str, Any]]] = {}
    for key in sorted(found):
        name = (key.decode() if isinstance(key, bytes) else key).rpartition("target:")[2]
        raw = await redis.hgetall(key)
        lanes[name] = [json.loads(value) for value in raw.values()]
    return lanes


def merge_lanes(
    configured: Iterable[str], lanes: dict[str, list[dict[str, Any]]], live: set[str]
) -> list[dict[str, Any]]:
    """One entry per target: the newest delivery anywhere; pending and failing on live replicas.

    A dead replica's lane says nothing about now, but its last delivery still counts.
    """
    merged = []
    for name in dict.fromkeys([*configured, *lanes]):
        entries = lanes.get(name, [])
        delivered = max(
            (e for e in entries if e.get("last_delivered")),
            key=lambda e: e.get("delivered_at") or 0,
            default=None,
        )
        alive = [e for e in entries if e.get("instance") in live]
        failing = [e["failing_since"] for e in alive if e.get("failing_since")]
        merged.append(
            {
                "name": name,
                "last_delivered": delivered["last_delivered"] if delivered else None,
                "delivered_at": _instant(delivered.get("delivered_at")) if delivered else None,
                "pending": [
                    {"instance": e["instance"], "fire": e["pending"], "missed": e["pending_missed"]}
                    for e in alive
                    if e.get("pending")
                ],
                "failing_since": _instant(min(failing)) if failing else None,
            }
        )
    return merged


def _now() -> float:
    return round(datetime.now(UTC).timestamp(), 3)


def _instant(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    from worker.run.fire import format_instant

    return format_instant(datetime.fromtimestamp(epoch, UTC), precise=True)
