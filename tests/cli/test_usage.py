"""Usage as the CLI reads it: a sub-second `pause --for` is a usage error (before: accepted,
a pause over before anyone saw it), and help ends with examples."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support import WorkerProcess, finished

Spawn = Callable[..., WorkerProcess]


@pytest.mark.parametrize("duration", ["1ms", "999ms", "0s"])
def test_pause_for_under_a_second_is_a_usage_error(spawn_worker: Spawn, duration: str) -> None:
    process = spawn_worker("pause", "crypto-trigger", "--for", duration)
    assert process.wait(timeout=30) == 2, process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert f"--for: '{duration}' is under 1s" in lines[0]


@pytest.mark.parametrize("args", [("--help",), ("run-task", "--help")], ids=["worker", "run-task"])
def test_help_ends_with_examples_and_points_at_the_settings(
    spawn_worker: Spawn, args: tuple[str, ...]
) -> None:
    helped = finished(spawn_worker, *args)

    assert helped.process.returncode == 0
    text = helped.stdout
    tail = text.rstrip().splitlines()
    examples = tail.index("examples:")
    assert all(line.startswith("  ") and "worker" in line for line in tail[examples + 1 :])
    assert "worker run-task crypto-trigger" in text[text.index("examples:") :]
    before_examples = " ".join(text[: text.index("examples:")].split())
    assert "applies to every command" in before_examples
    assert "--app" in before_examples
    assert "settings table in README.md" in before_examples
