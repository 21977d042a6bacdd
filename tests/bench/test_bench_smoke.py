"""`python -m bench --smoke` still runs end to end, so the benchmark never rots.

The full benchmark (about 6 minutes) is not part of the suite; see bench/README.md.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.support import run_bench

PROGRAMS = {"worker", "floor", "apscheduler"}
BUDGET_S = 30.0


def run_smoke(out: Path) -> tuple[int, str]:
    return run_bench(["bench", "--smoke", "--out", str(out)], BUDGET_S, "smoke benchmark")


def test_smoke_run_writes_lag_and_exit_codes_of_the_three_programs(tmp_path: Path) -> None:
    started = time.monotonic()
    code, output = run_smoke(tmp_path)
    assert code == 0, output[-3000:]
    assert time.monotonic() - started < BUDGET_S
    results = json.loads((tmp_path / "latest.json").read_text())
    assert set(results["programs"]) == PROGRAMS
    for name, program in results["programs"].items():
        median = program["lag_ms"]["median"]
        assert isinstance(median, float), name
        assert program["exit_code"] == 0, name
