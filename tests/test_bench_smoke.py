"""`python -m bench --smoke` still runs end to end, so the benchmark never rots.

The full benchmark (about 6 minutes) is not part of the suite; see bench/README.md.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = {"worker", "floor", "apscheduler"}
BUDGET_S = 30.0


def run_smoke(out: Path) -> tuple[int, str]:
    """Run the smoke benchmark; on overrun, SIGTERM lets it stop its own children first."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "bench", "--smoke", "--out", str(out)]
    with subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        try:
            output, _ = process.communicate(timeout=BUDGET_S)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=15)
            pytest.fail(f"smoke benchmark took over {BUDGET_S:.0f} s:\n{output[-3000:]}")
    return process.returncode, output


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
