"""Usage as the CLI reads it: a sub-second `pause --for` is a usage error (before: accepted,
a pause over before anyone saw it). How help reads: test_help.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import WorkerProcess, worker_env

Spawn = Callable[..., WorkerProcess]


@pytest.mark.parametrize("duration", ["1ms", "999ms", "0s"])
def test_pause_for_under_a_second_is_a_usage_error(spawn_worker: Spawn, duration: str) -> None:
    process = spawn_worker("pause", "crypto-trigger", "--for", duration)
    assert process.wait(timeout=30) == 2, process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert f"--for: '{duration}' is under 1s" in lines[0]


def test_a_reader_that_closes_the_pipe_ends_the_command_in_silence(tmp_path: Path) -> None:
    """`worker list --json | head -1`: before, `worker crashed` and a BrokenPipeError
    traceback, exit 1; now the exit of a program whose reader went away, and no word."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes
    try:
        done = subprocess.run(
            [sys.executable, "-m", "worker", "list", "--json"],
            stdout=write,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            env=worker_env("redis://127.0.0.1:1/0"),
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        os.close(write)
    assert done.returncode == 141
    assert done.stderr == ""


def test_a_bare_command_line_reads_as_the_parser_would_read_it() -> None:
    """`worker` alone (the image's CMD) skips building the parser: it must still mean
    exactly what the parser makes of it."""
    from worker.cli.main import _parse, build_parser

    assert _parse([]) == build_parser().parse_args([])
