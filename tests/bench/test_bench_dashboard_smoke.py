"""`python -m bench.dashboard --smoke` still runs end to end (the full run is not part of the
suite; see bench/README.md), and its figures say what the dashboard promises: a task's page
costs the same commands however long its history."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import run_bench

BUDGET_S = 30.0


def test_smoke_run_measures_every_view(tmp_path: Path) -> None:
    out = tmp_path / "dashboard.json"
    argv = ["bench.dashboard", "--smoke", "--json", str(out)]
    code, output = run_bench(argv, BUDGET_S, "dashboard benchmark")
    assert code == 0, output[-3000:]
    results = json.loads(out.read_text())
    assert results["runs"]["big"] == 2000
    views = results["views"]
    assert {"/", "/tasks/big", "/api/tasks/small", "/alerts"} <= set(views)
    for path, row in views.items():
        assert row["median_ms"] > 0, path
        assert row["commands"] >= 1, path
    assert views["/tasks/big"]["commands"] == views["/tasks/small"]["commands"]
    assert views["/tasks/big"]["commands"] == views["/tasks/mid"]["commands"]
    assert "task page, 2000 runs vs 200 vs 10" in output
