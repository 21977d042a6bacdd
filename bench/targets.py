"""The worker's targets, each judged against the floor or the APScheduler script of the same run."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.programs import APSCHEDULER, FLOOR, WORKER
from bench.results import ProgramResult


@dataclass(frozen=True)
class Target:
    name: str
    unit: str
    value: float | None
    bound: float | None
    passed: bool
    detail: str = ""


def at_most(
    name: str,
    unit: str,
    value: float | None,
    bound: float | None,
    detail: str = "",
    also: bool = True,
) -> Target:
    """`value ≤ bound` (and `also`); an unknown value or bound fails."""
    known = value is not None and bound is not None and not math.isnan(value + bound)
    passed = also and known and value is not None and bound is not None and value <= bound
    return Target(name, unit, value, bound, passed, detail)


def evaluate(programs: dict[str, ProgramResult]) -> list[Target]:
    worker, floor, script = programs[WORKER], programs[FLOOR], programs[APSCHEDULER]
    floor_p99 = floor.lag_ms.p99
    missed, doubled = len(worker.missed), len(worker.doubled)
    exit_detail = f"exit code {worker.exit_code}" + (" (killed)" if worker.killed else "")
    return [
        at_most(
            "p99 lag ≤ floor p99 + 1 ms",
            "ms",
            worker.lag_ms.p99,
            None if floor_p99 is None else floor_p99 + 1,
        ),
        at_most(
            "no fire missed or doubled",
            "fires",
            missed + doubled,
            0,
            f"{missed} missed, {doubled} doubled of {worker.fires_expected}",
        ),
        at_most(
            "spawn→ready ≤ APScheduler + 0.15 s",
            "s",
            worker.spawn_to_ready_s,
            script.spawn_to_ready_s + 0.15,
        ),
        at_most("idle RSS ≤ APScheduler + 16 MiB", "MiB", worker.rss_mib, script.rss_mib + 16),
        at_most(
            f"idle CPU over {worker.cpu_window_s:g} s ≤ 2 x APScheduler",
            "s",
            worker.cpu_s,
            script.cpu_s * 2,
        ),
        at_most(
            "SIGTERM→exit ≤ APScheduler + 20 ms, exit code 0",
            "ms",
            worker.exit_s * 1000,
            script.exit_s * 1000 + 20,
            exit_detail,
            also=worker.exit_code == 0 and not worker.killed,
        ),
    ]
