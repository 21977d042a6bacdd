"""The stuck-run alarm: a run going on well past what its task should take is reported."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from loguru import logger

from worker.run.fire import Fire, format_instant
from worker.run.records import RunListener, StuckRun
from worker.schedule.cron import IntervalSchedule, OnceSchedule
from worker.schedule.definitions import TaskDefinition
from worker.schedule.timing import build_timing

STUCK_AFTER_LIMIT = 1.0
"""Seconds past its time limit after which a run is stuck (its cancel did not take)."""
_TICK = timedelta(microseconds=1)
STUCK_GAPS = 3
"""A run without a limit is stuck after this many gaps between its fire and the next one."""


class StuckAlarm:
    """One timer per run (a loop callback, no task); cancelled when the run ends."""

    def __init__(self, listeners: Sequence[RunListener]) -> None:
        self._listeners = listeners
        self._timings: dict[str, tuple[TaskDefinition, Any]] = {}

    def _next_fire(self, definition: TaskDefinition, after: datetime) -> datetime | None:
        """Cron's next fire from a timing kept per task (building one costs 8 times more)."""
        cached = self._timings.get(definition.name)
        if cached is None or cached[0] is not definition:
            timing = build_timing(
                definition.schedule, timezone=definition.timezone, aligned=True, now=after
            )
            cached = self._timings[definition.name] = (definition, timing)
        found: datetime | None = cached[1].get_next_fire_time(None, after)
        return found

    def arm(self, definition: TaskDefinition, fire: Fire) -> asyncio.TimerHandle | None:
        """Past its time limit, or STUCK_GAPS schedule gaps; a one-shot without limit: never."""
        if definition.time_limit:
            after = definition.time_limit + STUCK_AFTER_LIMIT
        elif isinstance(definition.schedule, OnceSchedule):
            return None
        elif isinstance(definition.schedule, IntervalSchedule):
            after = STUCK_GAPS * definition.schedule.seconds
        else:
            following = self._next_fire(definition, fire.scheduled_for + _TICK)
            if following is None:  # a schedule that has ended
                return None
            after = STUCK_GAPS * (following - fire.scheduled_for).total_seconds()
        stuck = StuckRun(definition.name, fire.id, datetime.now(UTC), after)
        return asyncio.get_running_loop().call_later(after, self._ring, stuck)

    def _ring(self, stuck: StuckRun) -> None:
        logger.bind(
            task=stuck.task,
            fire=stuck.fire_id,
            running_since=format_instant(stuck.running_since, precise=True),
            limit_s=round(stuck.limit_s, 3),
        ).warning("run stuck")
        for listener in self._listeners:
            try:
                listener.on_stuck(stuck)
            except Exception as exc:
                logger.opt(exception=exc).bind(task=stuck.task).error("run listener failed")
