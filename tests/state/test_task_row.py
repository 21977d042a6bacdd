"""A task's row: whether the pause holds its next fire back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from worker.state.fleet import PauseEntry
from worker.state.rows import task_row

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
NEXT = NOW + timedelta(minutes=5)


def row(paused: dict[str, Any] | None) -> dict[str, Any]:
    instances = [{"next_fires": {"t": NEXT.isoformat().replace("+00:00", "Z")}}]
    entry = None if paused is None else PauseEntry(until=paused["until"])
    return task_row("t", {"scope": "cluster"}, {}, instances, entry, {}, NOW)


@pytest.mark.parametrize(
    ("paused", "held"),
    [
        (None, False),
        ({"until": None}, True),  # until resumed
        ({"until": (NEXT + timedelta(seconds=1)).timestamp()}, True),
        ({"until": NEXT.timestamp()}, False),  # a pause is over at its `until`: the fire runs
        ({"until": (NEXT - timedelta(minutes=1)).timestamp()}, False),  # ends first: it runs
        ({"until": (NOW - timedelta(minutes=1)).timestamp()}, False),  # over already
    ],
)
def test_the_next_fire_is_held_only_by_a_pause_that_covers_it(
    paused: dict[str, Any] | None, held: bool
) -> None:
    found = row(paused)
    assert found["next_fire"] == "2026-12-03T12:05:00Z"
    assert found["next_fire_paused"] is held
