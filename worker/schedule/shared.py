"""Cron next fires shared by every task with the same schedule and zone.

A next fire is a pure function of (expression, zone, previous fire, now), so 1,000 tasks
on `* * * * * *` due at one instant need it computed once, not 1,000 times: the scheduler's
next run time, the stuck alarm's gap and a claim's fleet-wide `missed` all come from here.
Nothing here imports APScheduler (the timing is built on first use).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from typing_extensions import override

from worker.schedule.cron import CronSchedule, IntervalSchedule
from worker.schedule.definitions import TaskDefinition
from worker.schedule.timing import build_timing

_Key = tuple[str, tzinfo]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MOST = 100_000
"""`instants_between` stops counting here (a 1 s schedule after a day away): "at least"."""


class NextFires:
    """One timing per (expression, zone); its answers kept for the last `limit` questions."""

    def __init__(self, limit: int = 8192) -> None:
        self._limit = limit
        self._timings: dict[_Key, Any] = {}
        self._found: OrderedDict[tuple[_Key, datetime | None, datetime], datetime | None] = (
            OrderedDict()
        )

    def timing(self, schedule: CronSchedule, timezone: tzinfo) -> SharedTiming:
        """An APScheduler trigger for `schedule` whose answers are shared."""
        key = (schedule.expr, timezone)
        self._inner(key)
        return SharedTiming(self, key)

    def next_fire(self, key: _Key, previous: datetime | None, now: datetime) -> datetime | None:
        """The timing's `get_next_fire_time(previous, now)`, computed once per question."""
        question = (key, previous, now)
        try:
            return self._found[question]
        except KeyError:
            pass
        found: datetime | None = self._inner(key).get_next_fire_time(previous, now)
        self._found[question] = found
        if len(self._found) > self._limit:
            self._found.popitem(last=False)
        return found

    def instants_between(self, task: TaskDefinition, after_ms: int, before_ms: int) -> int:
        """How many fires of `task` fall strictly between two instants (ms since the
        epoch): what a claim's winner reports `missed` since the previous mark."""
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
        timing = self._inner((schedule.expr, task.timezone))
        moment = datetime.fromtimestamp(after_ms / 1000, UTC)
        end = datetime.fromtimestamp(before_ms / 1000, UTC)
        tick = timedelta(milliseconds=1)
        count = 0
        while count < MOST:  # the timing itself: these answers are asked once
            following = timing.get_next_fire_time(None, moment + tick)
            if following is None or following >= end:
                return count
            count += 1
            moment = following
        return count

    def _inner(self, key: _Key) -> Any:
        timing = self._timings.get(key)
        if timing is None:
            timing = build_timing(CronSchedule(key[0]), timezone=key[1], aligned=True, now=_EPOCH)
            self._timings[key] = timing
        return timing


class SharedTiming:
    """A cron timing that asks `NextFires`, so tasks of one schedule share the work."""

    __slots__ = ("_fires", "_key")

    def __init__(self, fires: NextFires, key: _Key) -> None:
        self._fires = fires
        self._key = key

    @property
    def timezone(self) -> tzinfo:
        return self._key[1]

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        return self._fires.next_fire(self._key, previous_fire_time, now)

    @override
    def __str__(self) -> str:
        return str(self._fires._inner(self._key))
