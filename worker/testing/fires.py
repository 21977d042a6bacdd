"""The next fires of a task, computed by the timing the scheduler would mount for it."""

from __future__ import annotations

from datetime import UTC, datetime

from worker.schedule.definitions import TaskDefinition
from worker.schedule.timing import build_timing


def upcoming_fires(definition: TaskDefinition, count: int, after: datetime) -> list[datetime]:
    """The first `count` fires at or after `after`, in UTC, with the task mounted at `after`
    (an interval counts from there, or from the epoch for cluster-scoped ones)."""
    if after.utcoffset() is None:
        raise ValueError("after must be timezone-aware")
    if definition.disabled or count <= 0:
        return []
    timing = build_timing(
        definition.schedule, timezone=definition.timezone, aligned=definition.aligned, now=after
    )
    fires: list[datetime] = []
    fire: datetime | None = timing.get_next_fire_time(None, after)
    while fire is not None and len(fires) < count:
        fires.append(fire.astimezone(UTC))
        fire = timing.get_next_fire_time(fire, fire)
    return fires
