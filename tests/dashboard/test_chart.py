"""The lag chart's scale: every run drawn where its lag is, a negative one below zero."""

from __future__ import annotations

import re

from dashboard.chart import HEIGHT, lag_svg


def _dots(svg: str) -> list[float]:
    return [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="(-?[\d.]+)"', svg)]


def _marks(svg: str) -> dict[str, float]:
    found = re.findall(
        r'<line class="grid" [^>]*y1="(-?[\d.]+)"[^>]*/><text[^>]*>([^<]+)</text>', svg
    )
    return {label: float(y) for y, label in found}


def test_positive_lags_sit_between_zero_and_the_rounded_top() -> None:
    svg = lag_svg([{"at": "a", "lag_ms": 3.0}, {"at": "b", "lag_ms": 40.0}], title="t")
    marks = _marks(svg)
    assert set(marks) == {"50 ms", "25 ms", "0 ms"}
    low, high = _dots(svg)
    assert marks["50 ms"] < high < low < marks["0 ms"]


def test_a_negative_lag_is_drawn_below_the_zero_line_not_on_it() -> None:
    svg = lag_svg(
        [{"at": "a", "lag_ms": 2.0}, {"at": "b", "lag_ms": -300.0}, {"at": "c", "lag_ms": 0.0}],
        title="t",
    )
    marks = _marks(svg)
    # "2 ms" would be 0.7 px above "0 ms": left out, not printed over it.
    assert set(marks) == {"0 ms", "-500 ms"}
    above, below, zero = _dots(svg)
    assert above < marks["0 ms"] == zero < below < marks["-500 ms"] <= HEIGHT
    assert "-300 ms" in svg  # the dot's tooltip keeps the value


def test_marks_either_side_of_zero_when_both_have_room() -> None:
    svg = lag_svg([{"at": "a", "lag_ms": 80.0}, {"at": "b", "lag_ms": -40.0}], title="t")
    marks = _marks(svg)
    assert set(marks) == {"100 ms", "0 ms", "-50 ms"}
    assert marks["100 ms"] < marks["0 ms"] < marks["-50 ms"]


def test_seconds_long_lags_read_in_seconds_either_side_of_zero() -> None:
    svg = lag_svg([{"at": "a", "lag_ms": -12_000.0}, {"at": "b", "lag_ms": 25_000.0}], title="t")
    assert set(_marks(svg)) == {"30.0 s", "0 ms", "-30.0 s"}
