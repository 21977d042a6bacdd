"""Run history in Redis, and the bounded queue that keeps recording off the runs' path.

Layout: `<prefix>runs` is a stream of every run (capped, approximate); `<prefix>tasks` is
a hash of per-task summaries (last run, outcome, consecutive failures) that `status` reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from loguru import logger

from worker.clients import command_deadline
from worker.lifecycle import cancel_and_wait
from worker.outage import Backoff, OutageMonitor, is_connection_error
from worker.runner import RunRecord

if TYPE_CHECKING:
    from redis.asyncio import Redis

SUMMARY_OUTCOMES = ("ok", "failed", "timeout", "cancelled")
BATCH = 500
OUTAGE_FLUSH_WAIT = 1.0
WRITE_INTERVAL = 5.0
"""At most one write per interval: a lone record goes out at once, a steady stream in batches."""

# One command per batch, whatever its size: per record, ARGV holds the task, its summary
# (JSON, or '' when the outcome does not replace the summary), its started_at, the field
# count, the fields. A summary never replaces a newer one (replicas flush late after outages).
_APPEND = """
local i = 2
while i <= #ARGV do
  local count = tonumber(ARGV[i + 3])
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, i + 4, i + 3 + count))
  if ARGV[i + 1] ~= '' then
    local current = redis.call('HGET', KEYS[2], ARGV[i])
    if not current or cjson.decode(current)['started_at'] <= ARGV[i + 2] then
      redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    end
  end
  i = i + 4 + count
end
return #ARGV
"""


class RunHistory:
    """Reads and writes the run history keys."""

    def __init__(self, redis: Redis, *, key_prefix: str, maxlen: int) -> None:
        self._redis = redis
        self.stream_key = f"{key_prefix}runs"
        self.summary_key = f"{key_prefix}tasks"
        self._maxlen = maxlen
        self._append = redis.register_script(_APPEND)

    async def append(self, records: Sequence[RunRecord]) -> None:
        """Write a batch in one command; the newest record of a task becomes its summary."""
        args: list[str | int] = [self._maxlen]
        for record in records:
            values = record.to_dict()
            summary = json.dumps(values) if record.outcome in SUMMARY_OUTCOMES else ""
            args += [record.task, summary, record.started_at, 2 * len(values)]
            for key, value in values.items():
                args += [key, "" if value is None else str(value)]
        async with command_deadline():
            await self._append(keys=[self.stream_key, self.summary_key], args=args)

    async def summaries(self) -> dict[str, dict[str, Any]]:
        raw = await self._redis.hgetall(self.summary_key)
        return {_text(k): json.loads(v) for k, v in raw.items()}

    async def delete_older_than(self, cutoff: datetime, batch: int = 1000) -> int:
        """Trim entries older than `cutoff`, `batch` at most per command; returns the count."""
        min_id = f"{int(cutoff.timestamp() * 1000)}-0"
        deleted = 0
        while True:
            removed = int(
                await self._redis.xtrim(
                    self.stream_key, minid=min_id, approximate=True, limit=batch
                )
            )
            deleted += removed
            if removed == 0:
                break
        # Approximate trimming stops at whole stream nodes; finish the tail exactly.
        deleted += int(await self._redis.xtrim(self.stream_key, minid=min_id, approximate=False))
        return deleted


class RunRecorder:
    """Queues records in memory and writes them in the background; a run never waits on Redis.

    During an outage the queue keeps the newest `capacity` records and counts the dropped ones.
    """

    def __init__(self, history: RunHistory, outage: OutageMonitor, capacity: int = 10_000) -> None:
        self._history = history
        self._outage = outage
        self._capacity = capacity
        self._queue: deque[RunRecord] = deque()
        self._batch: list[RunRecord] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = asyncio.Event()
        self._last_write = -WRITE_INTERVAL
        self._writer: asyncio.Task[None] | None = None
        self.dropped = 0

    def record(self, record: RunRecord) -> None:
        if len(self._queue) >= self._capacity:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(record)
        self._idle.clear()
        self._wake.set()

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name="run-recorder")

    async def close(self, timeout: float) -> None:
        """Flush what is queued within `timeout` (one retry's worth while Redis is down)."""
        if self._writer is None:
            return
        if self._outage.down:
            timeout = min(timeout, OUTAGE_FLUSH_WAIT)
        self._closing.set()
        try:
            if not self._idle.is_set():
                await asyncio.wait_for(self._idle.wait(), timeout=max(timeout, 0))
        except TimeoutError:
            unwritten = len(self._queue) + len(self._batch)
            self.dropped += unwritten
            logger.bind(records=unwritten).warning("run records not written at shutdown")
        await cancel_and_wait([self._writer], timeout=1.0)
        self._writer = None
        if self.dropped:
            logger.bind(records=self.dropped).warning("run records dropped while redis was down")

    async def _write_loop(self) -> None:
        backoff = Backoff()
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            pause = self._last_write + WRITE_INTERVAL - loop.time()
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await self._closing.wait()
            self._last_write = loop.time()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
                self._batch = batch
                while not await self._try_append(batch):
                    await asyncio.sleep(backoff.next())
                self._batch = []
                backoff.reset()
            self._idle.set()

    async def _try_append(self, batch: list[RunRecord]) -> bool:
        try:
            await self._history.append(batch)
        except Exception as exc:
            if not is_connection_error(exc):
                logger.opt(exception=exc).bind(records=len(batch)).error("run records lost")
                return True
            self._outage.failure(exc)
            return False
        self._outage.success()
        return True


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
