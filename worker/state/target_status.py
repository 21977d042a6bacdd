"""The read side of the trigger target lanes: what `status` shows per target."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker.state.keys import Keys

if TYPE_CHECKING:
    from redis.asyncio import Redis


async def read_lanes(
    redis: Redis, keys: Keys, names: Sequence[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every instance's lane, by target name (what `FleetReader.target_lanes` gives): of the
    targets named, or of every target found by SCAN when `names` is None."""
    if names is None:
        found = [key async for key in redis.scan_iter(match=keys.target_pattern)]
        texts = [key.decode() if isinstance(key, bytes) else key for key in found]
        names = sorted(text.rpartition("target:")[2] for text in texts)
    lanes: dict[str, list[dict[str, Any]]] = {}
    if not names:
        return lanes
    async with redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(keys.target(name))
        replies = await pipe.execute()
    for name, raw in zip(names, replies, strict=True):
        if raw:
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


def _instant(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    from worker.run.fire import format_instant

    return format_instant(datetime.fromtimestamp(epoch, UTC), precise=True)
