"""The queues' read model: BullMQ's own keys read directly (no bullmq import), for `status`,
metrics and the dashboard. Key layout: `<QUEUE_PREFIX>:<queue>:<state>`, a job's hash at
`<QUEUE_PREFIX>:<queue>:<id>` (Node BullMQ's and Python bullmq's alike)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker.connect.redis import text_or_none

if TYPE_CHECKING:
    from redis.asyncio import Redis

STATES = ("waiting", "active", "delayed", "completed", "failed")
LAST_FAILURES = 5
TEXT_SHOWN = 2000
"""A failed job's reason and data are shown up to this many characters."""
_LISTS = ("wait", "paused", "active")
_SETS = ("prioritized", "delayed", "completed", "failed")


class QueueReader:
    """Counts by state and the last failures of each queue; a few commands per queue."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def key(self, queue: str, part: str) -> str:
        return f"{self._prefix}:{queue}:{part}"

    async def counts(self, queue: str) -> dict[str, int]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in _LISTS:
                pipe.llen(self.key(queue, name))
            for name in _SETS:
                pipe.zcard(self.key(queue, name))
            wait, paused, active, prioritized, delayed, completed, failed = await pipe.execute()
        return {
            "waiting": int(wait) + int(paused) + int(prioritized),
            "active": int(active),
            "delayed": int(delayed),
            "completed": int(completed),
            "failed": int(failed),
        }

    async def last_failures(self, queue: str, count: int = LAST_FAILURES) -> list[dict[str, Any]]:
        """The newest failed jobs (what bullmq keeps of them): id, name, reason, when, attempts."""
        ids = [
            str(text_or_none(i))
            for i in await self._redis.zrevrange(self.key(queue, "failed"), 0, count - 1)
        ]
        fields = ("name", "failedReason", "finishedOn", "atm", "attemptsMade", "data")
        async with self._redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hmget(self.key(queue, job_id), fields)
            rows = await pipe.execute()
        return [
            _failure(job_id, [text_or_none(v) for v in row])
            for job_id, row in zip(ids, rows, strict=True)
        ]

    async def report(self, queues: Sequence[str]) -> list[dict[str, Any]]:
        """`status`'s `queues`: one object per queue, counts and last failures."""
        out = []
        for queue in queues:
            out.append(
                {
                    "name": queue,
                    **await self.counts(queue),
                    "last_failures": await self.last_failures(queue),
                }
            )
        return out


def _failure(job_id: str, row: list[str | None]) -> dict[str, Any]:
    name, reason, finished, atm, made, data = row
    failed_at = None
    if (finished_ms := _digits(finished)) is not None:
        try:
            moment = datetime.fromtimestamp(finished_ms / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            moment = None
        if moment is not None:
            failed_at = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "id": job_id,
        "name": name,
        "reason": _capped(reason),
        "failed_at": failed_at,
        "attempts": _digits(atm or made),
        "data": _capped(data),
    }


def _digits(text: str | None) -> int | None:
    """A whole number written in ASCII digits (bullmq's fields), or None."""
    if text and text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    return None


def _capped(text: str | None) -> str | None:
    """A job's reason or data as bullmq keeps it, cut at TEXT_SHOWN characters: a reader shows
    five failures per queue, however large a job's payload."""
    if text is None or len(text) <= TEXT_SHOWN:
        return text
    return f"{text[:TEXT_SHOWN]}… ({len(text):,} characters)"
