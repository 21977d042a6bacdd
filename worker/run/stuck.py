"""The stuck-run alarm: a run going on well past what its task should take is reported."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from loguru import logger

from worker.protocol import format_instant
from worker.run.fire import Fire
from worker.run.records import RunListener, StuckRun
from worker.schedule.cron import CronSchedule, IntervalSchedule, OnceSchedule
from worker.schedule.definitions import TaskDefinition
from worker.schedule.shared import NextFires

STUCK_AFTER_LIMIT = 1.0
"""Seconds past its time limit after which a run is stuck (its cancel did not take)."""
_TICK = timedelta(microseconds=1)
STUCK_GAPS = 3
"""A run without a limit is stuck after this many gaps between its fire and the next one."""


def stuck_after(
    definition: TaskDefinition, scheduled_for: datetime, next_fires: NextFires
) -> float | None:
    """Seconds a run of `definition` for `scheduled_for` may go on before it is stuck: its
    time limit and STUCK_AFTER_LIMIT, else STUCK_GAPS gaps from its fire to the schedule's
    next one; None: never (a one-shot without a limit, a schedule that has ended)."""
    schedule = definition.schedule
    if definition.time_limit:
        return definition.time_limit + STUCK_AFTER_LIMIT
    if isinstance(schedule, OnceSchedule):
        return None
    if isinstance(schedule, IntervalSchedule):
        return STUCK_GAPS * schedule.seconds
    key = (schedule.expr, definition.timezone)
    following = next_fires.next_fire(key, None, scheduled_for + _TICK)
    if following is None:
        return None
    return STUCK_GAPS * (following - scheduled_for).total_seconds()


class _Since(NamedTuple):
    loop: float
    wall: datetime
    scheduled: datetime


class Watch:
    """A run's alarm: at first a callback that works out when, then the timer itself."""

    __slots__ = ("handle",)

    def __init__(self, handle: asyncio.Handle | None = None) -> None:
        self.handle = handle

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()


class StuckAlarm:
    """One timer per run (a loop callback, no task); cancelled when the run ends.

    A cron task's gap (its next fire) is worked out only for a run still going when the
    shortest gap possible would make it stuck: runs start without computing it, and most
    never need it.
    """

    def __init__(self, listeners: Sequence[RunListener], next_fires: NextFires) -> None:
        self._next_fires = next_fires
        self._listeners = listeners

    def arm(self, definition: TaskDefinition, fire: Fire) -> Watch | None:
        """Past its time limit, or STUCK_GAPS schedule gaps; a one-shot without limit: never."""
        if isinstance(definition.schedule, CronSchedule) and not definition.time_limit:
            return self._arm_later(definition, fire)
        after = stuck_after(definition, fire.scheduled_for, self._next_fires)
        if after is None:
            return None
        stuck = StuckRun(definition.name, fire.id, datetime.now(UTC), after)
        return Watch(asyncio.get_running_loop().call_later(after, self._ring, stuck))

    def _arm_later(self, definition: TaskDefinition, fire: Fire) -> Watch:
        """Look first when the shortest cron gap would make the run stuck: most are over."""
        loop = asyncio.get_running_loop()
        watch = Watch()
        since = _Since(loop.time(), datetime.now(UTC), fire.scheduled_for)
        # The next fire is at the next whole second or later: never less than this apart.
        shortest = 1 - fire.scheduled_for.microsecond / 1e6
        watch.handle = loop.call_later(
            STUCK_GAPS * shortest, self._arm_cron, watch, definition, fire, since
        )
        return watch

    def _arm_cron(
        self, watch: Watch, definition: TaskDefinition, fire: Fire, since: _Since
    ) -> None:
        """STUCK_GAPS gaps from the run's fire to the cron schedule's next one (shared)."""
        after = stuck_after(definition, since.scheduled, self._next_fires)
        if after is None:  # a schedule that has ended
            return
        stuck = StuckRun(definition.name, fire.id, since.wall, after)
        watch.handle = asyncio.get_running_loop().call_at(since.loop + after, self._ring, stuck)

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
