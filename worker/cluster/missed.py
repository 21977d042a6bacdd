"""Fleet-wide `missed`: the schedule's instants strictly between the previous mark and a fire."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from worker.schedule.cron import CronSchedule, IntervalSchedule
from worker.schedule.definitions import TaskDefinition
from worker.schedule.timing import build_timing

MOST = 100_000
"""Counting stops here (a 1 s schedule after a day away): the count says "at least"."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def instants_between(
    task: TaskDefinition, after_ms: int, before_ms: int, timings: dict[Any, Any] | None = None
) -> int:
    """How many fires of `task` fall in (after, before): what a claim winner reports missed.

    `timings` keeps the cron timings built here, by expression and zone, across calls.
    """
    if after_ms <= 0 or before_ms <= after_ms:
        return 0
    schedule = task.schedule
    if isinstance(schedule, IntervalSchedule):
        step = round(schedule.seconds * 1000)
        if step <= 0:
            return 0
        # Cluster intervals fire on multiples of the step since the epoch.
        first = math.floor(after_ms / step) + 1
        last = math.ceil(before_ms / step) - 1
        return min(max(last - first + 1, 0), MOST)
    if not isinstance(schedule, CronSchedule):
        return 0
    key = (schedule.expr, task.timezone)
    timing = None if timings is None else timings.get(key)
    if timing is None:
        timing = build_timing(schedule, timezone=task.timezone, aligned=True, now=_EPOCH)
        if timings is not None:
            timings[key] = timing
    moment = datetime.fromtimestamp(after_ms / 1000, UTC)
    end = datetime.fromtimestamp(before_ms / 1000, UTC)
    tick = timedelta(milliseconds=1)
    count = 0
    while count < MOST:
        following = timing.get_next_fire_time(None, moment + tick)
        if following is None or following >= end:
            return count
        count += 1
        moment = following
    return count
