"""A batch of runs leaves each task's newest run as its summary, never an older one, and
every run in both streams, whatever order the batch holds them in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from worker.protocol import format_instant
from worker.run.records import RunRecord
from worker.state.history import RunHistory
from worker.state.keys import Keys

KEYS = Keys()
START = datetime(2026, 3, 1, 12, tzinfo=UTC)


def run(task: str, second: int, outcome: str = "ok") -> RunRecord:
    at = START + timedelta(seconds=second)
    return RunRecord(
        task=task,
        fire_id=f"{task}:{second}",
        scheduled_for=format_instant(at, precise=True),
        started_at=format_instant(at, precise=True),
        outcome=outcome,
        duration_ms=1.0,
        lag_ms=0.0,
        missed=0,
        instance="a",
    )


async def summary(client: Redis, task: str) -> dict[str, object]:
    raw = await client.hget(KEYS.task_summaries, task)
    return dict(json.loads(raw)) if raw else {}


async def test_a_batch_leaves_each_tasks_newest_run_as_its_summary(client: Redis) -> None:
    history = RunHistory(client, keys=KEYS, maxlen=1000, timeout=5.0)
    batch = [
        run("q", 1),
        run("q", 3),
        run("other", 2),
        run("q", 2, "failed"),
        run("q", 4, "retrying"),
    ]
    await history.append(batch)
    assert (await summary(client, "q"))["fire_id"] == "q:3"  # `retrying` makes no summary
    assert (await summary(client, "other"))["fire_id"] == "other:2"
    assert await client.xlen(KEYS.runs) == 5
    assert await client.xlen(KEYS.task_runs("q")) == 4


async def test_a_batch_older_than_the_summary_leaves_it(client: Redis) -> None:
    history = RunHistory(client, keys=KEYS, maxlen=1000, timeout=5.0)
    await history.append([run("q", 10)])
    await history.append([run("q", 5), run("q", 7, "failed")])  # a replica flushing late
    assert (await summary(client, "q"))["fire_id"] == "q:10"
    await history.append([run("q", 11, "failed"), run("q", 9)])
    assert (await summary(client, "q"))["outcome"] == "failed"
