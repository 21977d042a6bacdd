"""What one run measured, per program, in the shape `latest.json` stores it."""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import redis

from bench.messages import Message
from bench.procs import Exit
from bench.stats import LagStats, fires_in

MIB = 1024 * 1024


@dataclass
class Window:
    """The shared measuring window; the samples are filled in while it runs."""

    start: float
    seconds: range
    cpu_window_s: float
    cpu_s: dict[str, float] = field(default_factory=dict)
    memory: dict[str, tuple[int, int]] = field(default_factory=dict)
    memory_end: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Cycle:
    """One start and stop of a program: spawn → ready, spawn → first message, SIGTERM → exit."""

    ready_s: float
    first_message_s: float | None
    exit: Exit


@dataclass(frozen=True)
class ProgramResult:
    """Start and exit figures are medians over every cycle (the main run's is the last one)."""

    name: str
    lag_ms: LagStats
    fires_expected: int
    fires_received: int
    missed: list[str]
    doubled: list[str]
    spawn_to_ready_s: float
    spawn_to_first_message_s: float | None
    exit_s: float
    exit_code: int
    killed: bool
    rss_mib: float
    uss_mib: float
    rss_end_mib: float
    uss_end_mib: float
    cpu_s: float
    cpu_window_s: float
    cycles: list[Cycle]
    lags_ms: list[float]


@dataclass(frozen=True)
class RunResult:
    meta: dict[str, Any]
    programs: dict[str, ProgramResult]
    invalid_messages: int


def _iso(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def program_result(
    name: str, cycles: list[Cycle], messages: list[Message], window: Window
) -> ProgramResult:
    fires = fires_in(messages, window.seconds)
    rss, uss = window.memory.get(name, (0, 0))
    rss_end, uss_end = window.memory_end.get(name, (0, 0))
    firsts = [c.first_message_s for c in cycles if c.first_message_s is not None]
    codes = [c.exit.code for c in cycles]
    return ProgramResult(
        name=name,
        lag_ms=fires.lag,
        fires_expected=fires.expected,
        fires_received=len(fires.lags_ms),
        missed=[_iso(second) for second in fires.missed],
        doubled=[_iso(second) for second in fires.doubled],
        spawn_to_ready_s=statistics.median(c.ready_s for c in cycles),
        spawn_to_first_message_s=statistics.median(firsts) if firsts else None,
        exit_s=statistics.median(c.exit.seconds for c in cycles),
        exit_code=next((code for code in codes if code != 0), 0),
        killed=any(c.exit.killed for c in cycles),
        rss_mib=rss / MIB,
        uss_mib=uss / MIB,
        rss_end_mib=rss_end / MIB,
        uss_end_mib=uss_end / MIB,
        cpu_s=window.cpu_s.get(name, math.nan),
        cpu_window_s=window.cpu_window_s,
        cycles=cycles,
        lags_ms=[round(lag, 3) for lag in fires.lags_ms],
    )


def describe_run(redis_url: str, settings: dict[str, Any], window: Window) -> dict[str, Any]:
    """The conditions of the run, so two result files can be compared fairly."""
    client = redis.Redis.from_url(redis_url)
    server = client.info("server")
    client.close()
    return {
        "started_at": datetime.fromtimestamp(window.start, UTC).isoformat(),
        **settings,
        "first_second": datetime.fromtimestamp(window.seconds.start, UTC).isoformat(),
        "last_second": datetime.fromtimestamp(window.seconds.stop - 1, UTC).isoformat(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "redis_server": server.get("redis_version"),
        "versions": {
            package: metadata.version(package) for package in ("apscheduler", "redis", "psutil")
        },
    }
