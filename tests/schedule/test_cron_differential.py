"""Our cron evaluator against cronsim (an independent Debian-compatible one), away from DST.

Random expressions from a fixed seed, so CI sees the same ones every run. Each expression is
followed for a sequence of fires from a random start in each of several zones; a sequence
that reaches a UTC offset change is left to the DST table test (test_cron_vixie.py), since
cronsim is known to differ from Vixie there. Expressions cronsim reads differently from
Vixie are excluded by name below and counted.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import cronsim

from worker.schedule.vixie import VixieCron
from worker.schedule.zones import next_change, stretch

SEED = 20260317
EXPRESSIONS = 3200
FIRES = 8
START, SPAN = datetime(2026, 1, 1, tzinfo=UTC), 3 * 365 * 86400
ZONES = tuple(
    ZoneInfo(key)
    for key in ("UTC", "Asia/Kolkata", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe")
)
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
BOUNDS = {"second": (0, 59), "minute": (0, 59), "hour": (0, 23), "day": (1, 31)}
BOUNDS |= {"month": (1, 12), "weekday": (0, 7)}

# Where cronsim 2.8 and Vixie cron part ways (PITFALLS.md, "cronsim as a test oracle"):
# a stepped range with equal ends, `a-a/n` (also spelled `mon-1/2`), is the value a in Vixie
# and `a/n` (a up to the field's top) in cronsim.
STEPPED_RANGE = re.compile(r"^(\w+)-(\w+)/\d+$")


def equal_ends_stepped(expr: str) -> bool:
    for text in expr.split():
        for piece in text.split(","):
            found = STEPPED_RANGE.match(piece)
            if found and value(found[1]) == value(found[2]):
                return True
    return False


def value(token: str) -> int:
    token = token.lower()
    for names in (MONTHS, WEEKDAYS):
        if token in names:
            return names.index(token) + (names is MONTHS)
    return int(token)


def spell(rng: random.Random, kind: str, value: int) -> str:
    """A value as a number or, for months and weekdays (not 7), a name in any case."""
    names = {"month": MONTHS, "weekday": WEEKDAYS}.get(kind, ())
    low = BOUNDS[kind][0]
    if names and value - low < len(names) and rng.random() < 0.4:
        name = names[value - low]
        return rng.choice([name, name.upper(), name.capitalize()])
    return str(value)


def item(rng: random.Random, kind: str) -> str:
    """One comma-list item: a value, a range, a stepped range or a stepped start."""
    low, high = BOUNDS[kind]
    a, b = sorted(rng.randint(low, high) for _ in range(2))
    step = rng.choice([1, 2, 3, 5, 7, 10, 15])
    shape = rng.choice(["value", "range", "stepped", "start"])
    if shape == "value":
        return spell(rng, kind, a)
    if shape == "range":
        return f"{spell(rng, kind, a)}-{spell(rng, kind, b)}"
    if shape == "stepped":
        return f"{spell(rng, kind, a)}-{spell(rng, kind, b)}/{step}"
    return f"{a}/{step}"


def field(rng: random.Random, kind: str, star_weight: float) -> str:
    roll = rng.random()
    if roll < star_weight:
        return "*"
    if roll < star_weight + 0.15:
        return f"*/{rng.choice([1, 2, 3, 4, 5, 6, 10, 15, 20, 30])}"
    return ",".join(item(rng, kind) for _ in range(rng.choice([1, 1, 2, 3])))


def expression(rng: random.Random) -> str:
    parts = [
        field(rng, "minute", 0.2),
        field(rng, "hour", 0.35),
        field(rng, "day", 0.6),
        field(rng, "month", 0.6),
        field(rng, "weekday", 0.6),
    ]
    if rng.random() < 0.15:
        parts.insert(0, field(rng, "second", 0.2))
    return " ".join(parts)


def valid(expr: str) -> bool:
    try:
        VixieCron(expr, UTC)
        cronsim.CronSim(expr, datetime(2026, 1, 1))
    except (ValueError, cronsim.CronSimError):
        return False
    return True


def ours(expr: str, zone: ZoneInfo, start: datetime) -> list[datetime]:
    """Fires strictly after `start`, followed as APScheduler does."""
    trigger = VixieCron(expr, zone)
    found: list[datetime] = []
    previous = start
    for _ in range(FIRES):
        fire = trigger.get_next_fire_time(previous, previous)
        if fire is None:
            break
        found.append(fire.astimezone(UTC))
        previous = fire
    return found


def theirs(expr: str, zone: ZoneInfo, start: datetime) -> list[datetime]:
    iterator = cronsim.CronSim(expr, start.astimezone(zone))
    found: list[datetime] = []
    for fire in iterator:
        found.append(fire.astimezone(UTC))
        if len(found) == FIRES:
            break
    return found


def test_fire_sequences_match_cronsim_away_from_dst_changes() -> None:
    rng = random.Random(SEED)
    counts = dict.fromkeys(
        ["expressions", "sequences", "cut_at_dst", "equal_ends_stepped", "started_by_a_change"], 0
    )
    mismatches: list[str] = []
    while counts["expressions"] < EXPRESSIONS:
        expr = expression(rng)
        if not valid(expr):
            continue
        if equal_ends_stepped(expr):
            counts["equal_ends_stepped"] += 1
            continue
        counts["expressions"] += 1
        for zone in rng.sample(ZONES, 2):
            start = START + timedelta(seconds=rng.randrange(SPAN))
            if near_a_change(zone, start):
                counts["started_by_a_change"] += 1  # maybe in a repeated hour: the table's
                continue
            expected, template = away_from_dst(zone, start, theirs(expr, zone, start), counts)
            counts["sequences"] += 1
            found = ours(expr, zone, start)[: len(template)]
            if found != expected:
                mismatches.append(f"{expr!r} in {zone.key} from {start}: {found} != {expected}")
    print(f"cronsim differential: {counts}, mismatches: {len(mismatches)}")
    assert counts["sequences"] >= 3000
    assert not mismatches, "\n".join(mismatches[:10])


def near_a_change(zone: ZoneInfo, start: datetime) -> bool:
    _, last = stretch(zone, _naive(start))
    return last is not None and _naive(start) - last.at < timedelta(days=1)


def away_from_dst(
    zone: ZoneInfo, start: datetime, fires: list[datetime], counts: dict[str, int]
) -> tuple[list[datetime], list[datetime]]:
    """cronsim's fires before the first offset change after `start` (the rest is the DST
    table test's), and the same list again as a template for ours."""
    change = next_change(zone, _naive(start), _naive(fires[-1])) if fires else None
    if change is None:
        return fires, fires
    counts["cut_at_dst"] += 1
    kept = [fire for fire in fires if _naive(fire) < change.at]
    return kept, kept


def _naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None)


NEAR_ZONES = (ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"))
HOURS_NEAR_A_CHANGE = ("*", "*/2", "1-3", "2", "1,2", "0-2", "2-4/2", "1", "3", "0,2-3")


def test_fire_sequences_match_cronsim_across_whole_hour_dst_changes() -> None:
    """Near changes too, where cronsim follows Debian, with its known slips excluded by name:
    Lord Howe (it steps 30-minute shifts wrongly), starts inside a repeated hour (it can
    return a fire before the start: here every start is up to 5 hours before a change),
    6-field expressions (it gives them no DST rule). Whole-hour changes, 2026-2028."""
    rng = random.Random(SEED + 1)
    sequences, mismatches = 0, []
    for zone in NEAR_ZONES:
        for year in (2026, 2027, 2028):
            for change in changes_in(zone, year):
                for _ in range(260):
                    expr = f"{field(rng, 'minute', 0.2)} {rng.choice(HOURS_NEAR_A_CHANGE)} * * *"
                    if not valid(expr) or equal_ends_stepped(expr):
                        continue
                    start = change.replace(tzinfo=UTC) - timedelta(minutes=rng.randrange(1, 300))
                    sequences += 1
                    found, expected = ours(expr, zone, start), theirs(expr, zone, start)
                    if found != expected:
                        mismatches.append(f"{expr!r} in {zone.key} from {start}")
    print(f"cronsim near DST: {sequences} sequences, mismatches: {len(mismatches)}")
    assert sequences >= 3000
    assert not mismatches, "\n".join(mismatches[:10])


def changes_in(zone: ZoneInfo, year: int) -> list[datetime]:
    """Offset changes in `year` (naive UTC), found by hourly sampling: a test-side oracle."""
    hour, instant, found = timedelta(hours=1), datetime(year, 1, 1), []
    while instant.year == year:
        if offset(zone, instant) != offset(zone, instant + hour):
            found.append(instant + hour)
        instant += hour
    return found


def offset(zone: ZoneInfo, instant: datetime) -> timedelta | None:
    return instant.replace(tzinfo=UTC).astimezone(zone).utcoffset()
