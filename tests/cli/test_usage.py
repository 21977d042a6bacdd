"""Usage as the CLI reads it: a sub-second `pause --for` is a usage error (before: accepted,
a pause over before anyone saw it). How help reads: test_help.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support import WorkerProcess

Spawn = Callable[..., WorkerProcess]


@pytest.mark.parametrize("duration", ["1ms", "999ms", "0s"])
def test_pause_for_under_a_second_is_a_usage_error(spawn_worker: Spawn, duration: str) -> None:
    process = spawn_worker("pause", "crypto-trigger", "--for", duration)
    assert process.wait(timeout=30) == 2, process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert f"--for: '{duration}' is under 1s" in lines[0]
