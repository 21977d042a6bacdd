"""The lag chart: server-rendered SVG (no script, no CDN), every text in it escaped."""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 14, 30
MIN_LABEL_GAP = 12
"""Pixels an axis mark keeps from the zero line's (a few ms above a skewed run's -1.5 s)."""


def lag_svg(points: list[dict[str, Any]], *, title: str) -> str:
    """Lag (ms) of each run, oldest to newest; a line and a dot per run."""
    label = escape(title, quote=True)
    if not points:
        return (
            f'<svg class="chart" role="img" aria-label="{label}" viewBox="0 0 {WIDTH} 60">'
            f'<text x="{LEFT}" y="34">no runs recorded yet</text></svg>'
        )
    values = [float(p["lag_ms"]) for p in points]
    # A run can start before its instant by the scheduler's own clock (a clock ahead of the
    # one that planned it): its lag is negative and drawn below the zero line.
    top = _ceiling(max(max(values), 0.0))
    bottom = -_ceiling(-min(values)) if min(values) < 0 else 0.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(values) - 1, 1)

    def y_of(value: float) -> float:
        return TOP + plot_h * (top - value) / (top - bottom)

    coords = [(LEFT + i * step, y_of(v)) for i, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts = [
        f'<svg class="chart" role="img" aria-label="{label}" viewBox="0 0 {WIDTH} {HEIGHT}">',
        f"<title>{label}</title>",
    ]
    marks = (top, 0.0, bottom) if bottom < 0 else (top, top / 2, 0.0)
    for mark in marks:
        y = y_of(mark)
        if mark != 0 and abs(y - y_of(0.0)) < MIN_LABEL_GAP:  # its label would sit on zero's
            continue
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_ms(mark)}</text>"
        )
    parts.append(f'<polyline class="lag" points="{line}"/>')
    for (x, y), point in zip(coords, points, strict=True):
        tip = escape(f"{point.get('at') or '?'}: {_ms(float(point['lag_ms']))}", quote=True)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5"><title>{tip}</title></circle>')
    first, last = (escape(str(points[i].get("at") or ""), quote=True) for i in (0, -1))
    parts.append(
        f'<text class="axis" x="{LEFT}" y="{HEIGHT - 8}">{first}</text>'
        f'<text class="axis" x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" text-anchor="end">{last}</text>'
        "</svg>"
    )
    return "".join(parts)


def _ceiling(value: float) -> float:
    """A round top for the axis, at least 1 ms."""
    for top in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000):
        if value <= top:
            return float(top)
    return value * 1.1


def _ms(value: float) -> str:
    return f"{value / 1000:.1f} s" if abs(value) >= 10_000 else f"{round(value, 2):g} ms"
