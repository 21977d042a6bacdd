"""For the schedule tests: fires of a schedule from a start, UTC instants, and random cron
fields (hypothesis) with the values they select."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import NamedTuple
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from worker.schedule.cron import Schedule, parse_cron
from worker.schedule.timing import build_timing

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEDNESDAY = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)


def fires(
    schedule: Schedule | str,
    start: datetime,
    count: int = 0,
    *,
    until: datetime | None = None,
    zone: tzinfo = UTC,
    aligned: bool = False,
) -> list[datetime]:
    """Follow the trigger as APScheduler does (previous fire time -> next), in UTC."""
    if isinstance(schedule, str):
        schedule = parse_cron(schedule)
    trigger = build_timing(schedule, timezone=zone, aligned=aligned, now=start)
    found: list[datetime] = []
    previous: datetime | None = None
    now = start
    while len(found) < count or until is not None:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None or (until is not None and fire > until):
            break
        found.append(fire.astimezone(UTC))
        previous = now = fire
    return found


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


class Field(NamedTuple):
    text: str
    values: frozenset[int]
    star: bool  # written starting with `*`


def field(low: int, high: int, names: tuple[str, ...] = ()) -> st.SearchStrategy[Field]:
    def spell(value: int) -> st.SearchStrategy[str]:
        options = [str(value)]
        if names and value - low < len(names):
            options += [names[value - low], names[value - low].upper()]
        return st.sampled_from(options)

    def spelled(values: list[int]) -> st.SearchStrategy[list[str]]:
        return st.tuples(*(spell(v) for v in values)).map(list)

    number = st.integers(low, high)
    everything = st.just(Field("*", frozenset(range(low, high + 1)), star=True))
    every_nth = st.integers(1, high - low + 1).map(
        lambda n: Field(f"*/{n}", frozenset(range(low, high + 1, n)), star=True)
    )
    one_list = st.lists(number, min_size=1, max_size=4).flatmap(
        lambda vs: spelled(vs).map(lambda ts: Field(",".join(ts), frozenset(vs), star=False))
    )
    bounds = st.tuples(number, number).map(sorted)
    stepped_range = st.tuples(bounds, st.integers(1, 5)).flatmap(
        lambda t: spelled(t[0]).map(
            lambda ts: Field(
                f"{ts[0]}-{ts[1]}/{t[1]}", frozenset(range(t[0][0], t[0][1] + 1, t[1])), star=False
            )
        )
    )
    return st.one_of(everything, every_nth, one_list, stepped_range)
