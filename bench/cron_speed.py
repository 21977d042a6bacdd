"""Microseconds per next-fire call: our cron evaluator against cronsim and APScheduler.

    PYTHONPATH=. python -m bench.cron_speed [--rounds N]

One run, interleaved rounds (the best round counts), so machine drift hits every evaluator
alike. Each evaluator follows its own fires as a scheduler does (previous fire -> next),
with the same number of calls per case. Two groups, reported apart: DST-free (the fires
never reach a UTC offset change) and near-DST (starts 90 minutes before a change, and the
fires cross it). "before" is the trigger this project used until the Vixie evaluator
(bench/legacy_cron.py); cronsim is timed on a live iterator (parsing excluded), the triggers
on built objects (building excluded). APScheduler's CronTrigger ANDs the day fields, so it
is timed only on expressions that restrict at most one of them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

from bench.legacy_cron import _listed, legacy_cron
from worker.schedule.cron import FIELDS, parse_fields
from worker.schedule.vixie import VixieCron
from worker.schedule.zones import next_change

UTC = dt.UTC
FREE_EXPRS = (
    "*/15 * * * *", "0 9 * * 1-5", "30 2 * * *", "*/5 9-17 * * mon-fri", "15 */2 * * *",
    "0 0 1,15 * *", "0 12 * * sun", "7 7 7 * *", "*/30 * * * * *", "0 8 1-7 * 1",
)  # fmt: skip
FREE_ZONES = ("UTC", "Asia/Kolkata", "Europe/Berlin", "America/New_York")
FREE_START = dt.datetime(2026, 6, 10, 10, 17, tzinfo=UTC)
NEAR_EXPRS = ("30 2 * * *", "*/20 2 * * *", "0 * * * *", "45 1 * * *", "0 0-2 * * *",
              "*/15 * * * *")  # fmt: skip
NEAR_CHANGES = (
    ("Europe/Berlin", dt.datetime(2026, 3, 29, 1, tzinfo=UTC)),
    ("Europe/Berlin", dt.datetime(2026, 10, 25, 1, tzinfo=UTC)),
    ("America/New_York", dt.datetime(2027, 3, 14, 7, tzinfo=UTC)),
    ("America/New_York", dt.datetime(2027, 11, 7, 6, tzinfo=UTC)),
    ("Australia/Lord_Howe", dt.datetime(2027, 4, 3, 15, tzinfo=UTC)),
    ("Australia/Lord_Howe", dt.datetime(2027, 10, 2, 15, 30, tzinfo=UTC)),
)
CALLS = 20


class Case:
    """One expression in one zone from one start, followed for `calls` fires."""

    def __init__(self, expr: str, zone: str, start: dt.datetime, calls: int) -> None:
        self.expr, self.zone, self.start, self.calls = expr, ZoneInfo(zone), start, calls


def free_cases() -> list[Case]:
    """DST-free: as many calls (up to CALLS) as stay before the first offset change."""
    cases = []
    for expr in FREE_EXPRS:
        for zone in FREE_ZONES:
            case = Case(expr, zone, FREE_START, CALLS)
            fires = list(follow(VixieCron(expr, case.zone), case))
            naive = FREE_START.replace(tzinfo=None)
            change = next_change(case.zone, naive, fires[-1].astimezone(UTC).replace(tzinfo=None))
            if change is not None:
                case.calls = sum(f.astimezone(UTC).replace(tzinfo=None) < change.at for f in fires)
            cases.append(case)
    return cases


def near_cases() -> list[Case]:
    return [
        Case(expr, zone, at - dt.timedelta(minutes=90), 8)
        for expr in NEAR_EXPRS
        for zone, at in NEAR_CHANGES
    ]


def follow(trigger: Any, case: Case) -> Iterator[dt.datetime]:
    previous: dt.datetime | None = None
    now = case.start
    for _ in range(case.calls):
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None:
            return
        yield fire
        previous = now = fire


def apscheduler_trigger(expr: str, zone: dt.tzinfo) -> Any:
    from apscheduler.triggers.cron import CronTrigger

    values = parse_fields(expr).values
    names = ("second", "minute", "hour", "day", "month", "day_of_week")
    fields = {name: _listed(v, f) for name, v, f in zip(names, values, FIELDS, strict=True)}
    return CronTrigger(**fields, timezone=zone)


def _cronsim(case: Case) -> Iterator[dt.datetime]:
    from cronsim import CronSim

    iterator = CronSim(case.expr, case.start.astimezone(case.zone))
    return (next(iterator) for _ in range(case.calls))


def _trigger(build: Callable[[str, dt.tzinfo], Any]) -> Callable[[Case], Iterator[dt.datetime]]:
    return lambda case: follow(build(case.expr, case.zone), case)


EVALUATORS: dict[str, Callable[[Case], Iterator[dt.datetime]]] = {
    "before (WallClockCron)": _trigger(legacy_cron),
    "ours (VixieCron)": _trigger(VixieCron),
    "cronsim 2.8": _cronsim,
    "APScheduler CronTrigger": _trigger(apscheduler_trigger),
}


def one_round(name: str, cases: list[Case]) -> tuple[float, int]:
    """Seconds spent in next-fire calls, and the calls: objects are built before timing."""
    if name.startswith("APScheduler"):
        cases = [c for c in cases if not parse_fields(c.expr).either_day]
    runs = [EVALUATORS[name](case) for case in cases]  # generators, their objects built
    began = time.perf_counter()
    calls = sum(sum(1 for _ in run) for run in runs)
    return time.perf_counter() - began, calls


def measure(cases: list[Case], rounds: int) -> dict[str, float]:
    best = dict.fromkeys(EVALUATORS, float("inf"))
    for _ in range(rounds + 1):  # the first round warms caches up and is not counted
        for name in EVALUATORS:
            seconds, calls = one_round(name, cases)
            best[name] = min(best[name], seconds / calls * 1e6)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    for title, cases in (("DST-free", free_cases()), ("near-DST", near_cases())):
        figures = measure(cases, rounds)
        calls = sum(c.calls for c in cases)
        print(f"{title}: {len(cases)} cases, {calls} calls per round, best of {rounds} rounds")
        for name, micros in figures.items():
            ratio = micros / figures["cronsim 2.8"]
            print(f"  {name:<26} {micros:8.2f} µs/call  ({ratio:4.2f}x cronsim)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
