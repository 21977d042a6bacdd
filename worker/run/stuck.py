"""The stuck-run alarm: a run going on well past what its task should take is reported."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from loguru import logger

from worker.run.fire import Fire, format_instant
from worker.run.records import RunListener, StuckRun
from worker.schedule.cron import OnceSchedule
from worker.schedule.definitions import TaskDefinition

STUCK_AFTER_LIMIT = 1.0
"""Seconds past its time limit after which a run is stuck (its cancel did not take)."""
STUCK_GAPS = 3
"""A run without a limit is stuck after this many gaps between its fire and the next one."""


class StuckAlarm:
    """One timer per run (a loop callback, no task); cancelled when the run ends."""

    def __init__(self, listeners: Sequence[RunListener]) -> None:
        self._listeners = listeners

    def arm(self, definition: TaskDefinition, fire: Fire) -> asyncio.TimerHandle | None:
        """Past its time limit, or STUCK_GAPS schedule gaps; a one-shot without limit: never."""
        if definition.time_limit:
            after = definition.time_limit + STUCK_AFTER_LIMIT
        elif isinstance(definition.schedule, OnceSchedule):
            return None
        else:
            following = definition.next_fire(fire.scheduled_for + timedelta(microseconds=1))
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
