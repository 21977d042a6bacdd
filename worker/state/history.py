"""The run history keys: a capped stream of every run, one per task, per-task summaries.

`append` writes a batch in one Lua call; `summaries` is what `status` reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from worker.connect.redis import redis_deadline
from worker.run.records import RunRecord
from worker.state.keys import Keys

if TYPE_CHECKING:
    from redis.asyncio import Redis

SUMMARY_OUTCOMES = ("ok", "failed", "timeout", "cancelled", "abandoned")

# One command per batch, whatever its size: ARGV[1] and ARGV[2] cap the all-runs stream and
# each task's stream; per record, ARGV holds the task, its summary (JSON, or '' when it does
# not replace the summary: its outcome makes none, or a newer run of its task is in the
# batch), its started_at, the field count, the fields; the
# record's task stream is KEYS[2 + n] for the n-th record. A summary never replaces a newer
# one (replicas flush late after outages).
_APPEND = """
local i = 3
local n = 1
while i <= #ARGV do
  local count = tonumber(ARGV[i + 3])
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, i + 4, i + 3 + count))
  redis.call('XADD', KEYS[2 + n], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, i + 4, i + 3 + count))
  if ARGV[i + 1] ~= '' then
    local current = redis.call('HGET', KEYS[2], ARGV[i])
    if not current or cjson.decode(current)['started_at'] <= ARGV[i + 2] then
      redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    end
  end
  i = i + 4 + count
  n = n + 1
end
return #ARGV
"""


class RunHistory:
    """Reads and writes the run history keys."""

    def __init__(
        self, redis: Redis, *, keys: Keys, maxlen: int, timeout: float, per_task: int = 1000
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._per_task = per_task
        self.stream_key = keys.runs
        self.summary_key = keys.task_summaries
        self._maxlen = maxlen
        self._timeout = timeout
        self._append = redis.register_script(_APPEND)

    async def append(self, records: Sequence[RunRecord]) -> None:
        """Write a batch in one command; the newest record of a task becomes its summary."""
        args: list[str | int] = [self._maxlen, self._per_task]
        task_keys = [self._keys.task_runs(record.task) for record in records]
        summarized = _summarized(records)
        for index, record in enumerate(records):
            values = record.to_dict()
            summary = json.dumps(values) if index in summarized else ""
            args += [record.task, summary, record.started_at, 2 * len(values)]
            for key, value in values.items():
                args += [key, "" if value is None else str(value)]
        async with redis_deadline(self._timeout):
            await self._append(keys=[self.stream_key, self.summary_key, *task_keys], args=args)

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


def _summarized(records: Sequence[RunRecord]) -> set[int]:
    """The positions of the records whose summary is sent: per task, the newest by
    `started_at` of those whose outcome makes a summary (the last of equals, as the script
    would keep). The script keeps the newest it is given, so the others would be replaced
    within the same call (a queue's batch of hundreds of jobs: one summary, not hundreds)."""
    newest: dict[str, int] = {}
    for index, record in enumerate(records):
        if record.outcome not in SUMMARY_OUTCOMES:
            continue
        kept = newest.get(record.task)
        if kept is None or records[kept].started_at <= record.started_at:
            newest[record.task] = index
    return set(newest.values())
