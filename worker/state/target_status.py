"""The read side of the trigger target lanes: what `status` shows per target."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker.connect.redis import text
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
        names = sorted(text(key).rpartition("target:")[2] for key in found)
    lanes: dict[str, list[dict[str, Any]]] = {}
    if not names:
        return lanes
    async with redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(keys.target(name))
        replies = await pipe.execute()
    for name, raw in zip(names, replies, strict=True):
        found = [lane for value in raw.values() if (lane := parse_lane(value)) is not None]
        if found:
            lanes[name] = found
    return lanes


def parse_lane(raw: bytes | str) -> dict[str, Any] | None:
    """One instance's lane with each field of the type readers expect; None for a value that
    is no lane (one bad value must not hide the others)."""
    try:
        found = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if not isinstance(found, dict):
        return None
    return {
        **found,
        "instance": str(found.get("instance") or ""),
        "last_delivered": _filled(found.get("last_delivered")),
        "delivered_at": _epoch(found.get("delivered_at")),
        "pending": _filled(found.get("pending")),
        "pending_missed": int(_epoch(found.get("pending_missed")) or 0),
        "failing_since": _epoch(found.get("failing_since")),
    }


def _filled(value: Any) -> str | None:
    """A field that holds text (a lane record's JSON), else None."""
    return value if isinstance(value, str) and value else None


def _epoch(value: Any) -> float | None:
    """A number of seconds a datetime can hold, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and 0 <= value < 253_402_300_800 else None


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
    from worker.protocol import format_instant

    return format_instant(datetime.fromtimestamp(epoch, UTC), precise=True)
