"""`python -m bench.dashboard_guessing` still runs end to end, briefly, and its figures say what
the dashboard promises: one address gets 10 guesses checked, then 429."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import run_bench

BUDGET_S = 30.0


def test_a_short_run_measures_both_kinds_of_guess(tmp_path: Path) -> None:
    out = tmp_path / "guessing.json"
    argv = ["bench.dashboard_guessing", "--seconds", "0.5", "--addresses", "30", "--json", str(out)]
    code, output = run_bench(argv, BUDGET_S, "dashboard guessing benchmark")
    assert code == 0, output[-3000:]
    results = json.loads(out.read_text())
    for kind in ("bearer", "form"):
        assert results[kind]["statuses"]["401"] == 10, results[kind]
        assert results[kind]["statuses"]["429"] > 0, results[kind]
    assert results["rotation"]["statuses"] == {"401": 30}
    assert "guesses checked/s" in output
