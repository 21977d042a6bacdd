"""`latest.json` (everything, per-fire lags included) and `latest.md` (the tables to read)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.programs import NAMES
from bench.results import ProgramResult, RunResult
from bench.targets import Target


def _number(value: float | None, digits: int) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:.{digits}f}"


def _spread(median: float, samples: list[float], scale: float, digits: int) -> str:
    """The median, then the range over the cycles when there was more than one."""
    text = _number(median * scale, digits)
    if len(samples) > 1:
        text += f" ({min(samples) * scale:.{digits}f}..{max(samples) * scale:.{digits}f})"
    return text


def _ready(program: ProgramResult) -> str:
    samples = [cycle.ready_s for cycle in program.cycles]
    return _spread(program.spawn_to_ready_s, samples, 1, 3)


def _exit(program: ProgramResult) -> str:
    samples = [cycle.exit.seconds for cycle in program.cycles]
    return _spread(program.exit_s, samples, 1000, 1)


ROWS: list[tuple[str, Callable[[ProgramResult], str]]] = [
    ("lag median (ms)", lambda p: _number(p.lag_ms.median, 2)),
    ("lag p99 (ms)", lambda p: _number(p.lag_ms.p99, 2)),
    ("lag max (ms)", lambda p: _number(p.lag_ms.max, 2)),
    ("fires received / expected", lambda p: f"{p.fires_received} / {p.fires_expected}"),
    ("missed / doubled seconds", lambda p: f"{len(p.missed)} / {len(p.doubled)}"),
    ("spawn → ready (s)", _ready),
    ("spawn → first message (s)", lambda p: _number(p.spawn_to_first_message_s, 3)),
    ("idle RSS, tree (MiB)", lambda p: _number(p.rss_mib, 1)),
    ("idle USS, tree (MiB)", lambda p: _number(p.uss_mib, 1)),
    ("RSS / USS at window end (MiB)", lambda p: f"{p.rss_end_mib:.1f} / {p.uss_end_mib:.1f}"),
    ("CPU user+sys over window (s)", lambda p: _number(p.cpu_s, 2)),
    ("SIGTERM → exit (ms)", _exit),
    ("exit code (worst cycle)", lambda p: str(p.exit_code) + (" (killed)" if p.killed else "")),
]


def _finite(value: Any) -> Any:
    """NaN becomes null, so the file stays strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def write_json(result: RunResult, targets: list[Target], plot: str, path: Path) -> None:
    document = {
        "meta": result.meta,
        "programs": {name: asdict(program) for name, program in result.programs.items()},
        "targets": [asdict(target) for target in targets],
        "all_targets_passed": all(target.passed for target in targets),
        "invalid_messages": result.invalid_messages,
        "plot": plot,
    }
    path.write_text(json.dumps(_finite(document), indent=2, allow_nan=False) + "\n")


def markdown(result: RunResult, targets: list[Target], plot: str) -> str:
    meta = result.meta
    names = [*NAMES, *(name for name in result.programs if name not in NAMES)]
    lines = [
        "# Benchmark: worker vs floor vs plain APScheduler script",
        "",
        f"Run {meta['started_at']}: {meta['fires']} fires ({meta['first_second']} … "
        f"{meta['last_second']}), CPU window {meta['idle_seconds']:g} s, RSS sampled "
        f"{meta['rss_after_s']:g} s in; Python {meta['python']}, {meta['cpus']} CPUs, "
        f"load {', '.join(f'{x:.2f}' for x in meta['load_average'])}, "
        f"redis-server {meta['redis_server']}.",
        "",
        f"Start and exit figures: median (min..max) of {meta['start_stop_cycles']} start/stop "
        "cycles per program, each started alone; the last cycle is the measured run.",
        "",
        "| metric | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for label, cell in ROWS:
        lines.append(f"| {label} | " + " | ".join(cell(result.programs[n]) for n in names) + " |")
    lines += ["", "## Targets (worker, against the same run)", ""]
    lines += ["| target | worker | bound | result |", "|---|---:|---:|:---:|"]
    for target in targets:
        value = f"{_number(target.value, 2)} {target.unit}"
        if target.detail:
            value += f" ({target.detail})"
        bound = f"{_number(target.bound, 2)} {target.unit}"
        verdict = "PASS" if target.passed else "**FAIL**"
        lines.append(f"| {target.name} | {value} | {bound} | {verdict} |")
    lines += ["", f"Lag plot: {plot}", ""]
    return "\n".join(lines)
