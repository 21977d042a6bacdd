"""Many tasks due at one instant: every one runs once per instant, none lost or doubled."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.run_support import Sink, definition, scheduled
from worker import current_fire
from worker.schedule.cron import CronSchedule
from worker.schedule.definitions import TaskDefinition
from worker.scheduler.firing import CHUNK

TASKS = 250  # several chunks of a round


async def test_tasks_due_at_one_instant_each_run_once_per_instant() -> None:
    sink = Sink()
    seen: list[tuple[str, datetime]] = []

    def method(name: str) -> Callable[[], Coroutine[Any, Any, None]]:
        async def run() -> None:
            seen.append((name, current_fire().scheduled_for))

        return run

    def instants() -> set[datetime]:
        return {when for _, when in seen}

    # Half share one expression, half each have their own spelling of every second.
    expressions = ["* * * * * *"] * (TASKS // 2) + [
        f"* {m}-59,0-{m} {h}-23,0-{h} * * *" for h in range(3) for m in range(60)
    ][: TASKS - TASKS // 2]
    tasks: list[tuple[TaskDefinition, Callable[[], Any]]] = []
    for i, expr in enumerate(expressions):
        task = definition(f"t{i:03d}", schedule=CronSchedule(expr), timezone=ZoneInfo("UTC"))
        tasks.append((task, method(task.name)))
    assert TASKS > 3 * CHUNK
    await scheduled(tasks, lambda: len(instants()) >= 4, sink, timeout=10.0)

    counts = Counter(seen)
    assert max(counts.values()) == 1, "a task ran twice for one instant"
    complete = sorted(instants())[:-1]  # the last instant may be cut by the stop
    for when in complete:
        ran = {name for name, at in seen if at == when}
        assert len(ran) == TASKS, f"{TASKS - len(ran)} tasks did not run for {when}"
    assert all(r.outcome == "ok" and r.missed == 0 for r in sink.records)
    assert len(sink.records) == len(seen)
