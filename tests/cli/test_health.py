"""The container probes (`health`, `health --ready`) and the heartbeat file they read: shared
by two workers, or left over with bad figures."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import RedisServer, WorkerProcess, free_port, wait_for, worker_env

Spawn = Callable[..., WorkerProcess]
UNREACHABLE = f"redis://127.0.0.1:{free_port()}/0"
FAST_BEAT = {"HEARTBEAT_INTERVAL": "1"}


def probe(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m worker health ARGS` as Docker runs it: no HEARTBEAT_INTERVAL of its own."""
    environment = worker_env(UNREACHABLE)
    environment.pop("HEARTBEAT_INTERVAL", None)
    environment.pop("HEARTBEAT_FILE", None)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "worker", "health", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def heartbeat(tmp_path: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((tmp_path / "worker.heartbeat").read_text())
    return found


def heartbeat_file(tmp_path: Path) -> dict[str, str]:
    return {"HEARTBEAT_FILE": str(tmp_path / "worker.heartbeat")}


# --- health and readiness -------------------------------------------------------------


def test_health_with_redis_up_is_healthy_and_says_so(spawn_worker: Spawn, tmp_path: Path) -> None:
    worker = spawn_worker()
    worker.wait_for_log(" ready ")

    health = probe(tmp_path, **heartbeat_file(tmp_path))
    ready = probe(tmp_path, "--ready", **heartbeat_file(tmp_path))

    assert health.returncode == 0, health.stdout
    assert health.stdout.startswith("healthy")
    assert "redis up" in health.stdout
    assert ready.returncode == 0, ready.stdout
    assert ready.stdout.startswith("ready")
    assert "redis up" in ready.stdout
    assert worker.stop() == 0


def test_health_during_an_outage_is_alive_and_ready_flips_after_redis_timeout(
    spawn_worker: Spawn, tmp_path: Path
) -> None:
    worker = spawn_worker(redis=UNREACHABLE, REDIS_TIMEOUT="1", **FAST_BEAT)
    worker.wait_for_log(" ready ")
    record = heartbeat(tmp_path)
    assert record["redis"] == "down", "the outage began before ready"
    down_since = float(record["redis_down_since"])
    assert record["redis_timeout"] == 1.0

    health = probe(tmp_path, **heartbeat_file(tmp_path))
    assert health.returncode == 0, health.stdout
    assert "redis down since" in health.stdout

    answers: list[tuple[float, int]] = []  # (when the probe had finished, its exit code)

    def not_ready() -> subprocess.CompletedProcess[str] | None:
        ready = probe(tmp_path, "--ready", **heartbeat_file(tmp_path))
        answers.append((time.time(), ready.returncode))
        return ready if ready.returncode == 1 else None

    flipped = wait_for(not_ready, timeout=10, interval=0.05, what="health --ready to exit 1")
    assert flipped is not None
    assert answers[-1][0] - down_since > 1.0, "not ready only once down longer than REDIS_TIMEOUT"
    assert all(code == 0 for ended, code in answers if ended - down_since < 1.0), answers
    assert flipped.stdout.startswith("not ready")
    assert "redis down since" in flipped.stdout
    assert probe(tmp_path, **heartbeat_file(tmp_path)).returncode == 0, "still alive"
    assert worker.stop() == 0


def test_ready_follows_redis_down_and_back_up(
    spawn_worker: Spawn, tmp_path: Path, own_redis: RedisServer
) -> None:
    worker = spawn_worker(redis=own_redis.url, REDIS_TIMEOUT="1", **FAST_BEAT)
    worker.wait_for_log(" ready ")

    def ready_exit(code: int) -> Callable[[], bool]:
        return lambda: probe(tmp_path, "--ready", **heartbeat_file(tmp_path)).returncode == code

    assert ready_exit(0)()
    own_redis.kill()
    wait_for(ready_exit(1), timeout=10, interval=0.1, what="not ready while redis is down")
    own_redis.start()
    wait_for(ready_exit(0), timeout=10, interval=0.1, what="ready once redis is back")
    # Connections made before the restart fail once on their next use (a claim, the control
    # channel): the monitor may say "down (0s)" for a moment after the first success.
    wait_for(
        lambda: "redis up" in probe(tmp_path, **heartbeat_file(tmp_path)).stdout,
        timeout=10,
        interval=0.1,
        what="redis up in the probe",
    )
    assert worker.stop() == 0


def test_staleness_comes_from_the_interval_in_the_file(spawn_worker: Spawn, tmp_path: Path) -> None:
    worker = spawn_worker(**FAST_BEAT)
    worker.wait_for_log(" ready ")
    assert probe(tmp_path, **heartbeat_file(tmp_path)).returncode == 0
    worker.signal(signal.SIGSTOP)
    try:
        written = float(heartbeat(tmp_path)["time"])
        assert heartbeat(tmp_path)["interval"] == 1.0

        def unhealthy() -> tuple[float, subprocess.CompletedProcess[str]] | None:
            asked = time.time()
            health = probe(tmp_path, **heartbeat_file(tmp_path))
            return (asked, health) if health.returncode == 1 else None

        found = wait_for(unhealthy, timeout=10, interval=0.05, what="a stale heartbeat")
        assert found is not None
        asked, health = found
        # 3 intervals of 1 s (HEARTBEAT_INTERVAL's least) after the last beat; the default
        # (10 s) would allow 30 s.
        assert asked - written < 3.0 + 2.0
        assert time.time() - written > 3.0
        assert health.stdout.startswith("unhealthy: heartbeat is")
        assert "limit 3s" in health.stdout
    finally:
        worker.signal(signal.SIGCONT)
    wait_for(
        lambda: probe(tmp_path, **heartbeat_file(tmp_path)).returncode == 0,
        what="healthy again after SIGCONT",
    )
    assert worker.stop() == 0


def test_health_without_a_heartbeat_file_exits_one_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.heartbeat"

    for args in ((), ("--ready",)):
        health = probe(tmp_path, *args, HEARTBEAT_FILE=str(missing))
        assert health.returncode == 1
        assert health.stdout == f"unhealthy: no heartbeat file at {missing}\n"
        assert health.stderr == ""


def test_health_reads_heartbeat_file_from_dotenv(tmp_path: Path) -> None:
    missing = tmp_path / "from-dotenv.heartbeat"
    (tmp_path / ".env").write_text(f"HEARTBEAT_FILE={missing}\n")

    health = probe(tmp_path)

    assert health.returncode == 1
    assert str(missing) in health.stdout


def test_health_explains_a_heartbeat_file_in_the_old_plain_text_format(tmp_path: Path) -> None:
    old = tmp_path / "old.heartbeat"
    old.write_text(f"somehost-123-abcd {time.time():.3f}\n")

    health = probe(tmp_path, HEARTBEAT_FILE=str(old))

    assert health.returncode == 0, "fresh by its modification time"
    assert "not a JSON heartbeat record" in health.stdout
    assert "an older version's?" in health.stdout
    assert "redis state unknown" in health.stdout
    assert health.stderr == ""


@pytest.mark.parametrize(
    "content",
    [b"", b"\xff\xfe\x00 not text", b"[1, 2]", b"hello world again"],
    ids=["empty", "not-utf8", "foreign-json", "foreign-text"],
)
def test_health_on_a_file_that_is_no_heartbeat_record_is_unhealthy_in_one_line(
    tmp_path: Path, content: bytes
) -> None:
    """Before: a non-UTF-8 file printed a traceback; an empty or foreign one, fresh by its
    modification time, counted as healthy."""
    other = tmp_path / "other.file"
    other.write_bytes(content)

    health = probe(tmp_path, HEARTBEAT_FILE=str(other))

    assert health.returncode == 1
    assert health.stdout.strip().splitlines() == [
        f"unhealthy: {other} holds no heartbeat record (HEARTBEAT_FILE names another file?)"
    ]
    assert health.stderr == ""


# --- two workers, one heartbeat file; a leftover one ----------------------------------


def test_second_worker_sharing_the_heartbeat_file_warns_once(
    spawn_worker: Spawn, tmp_path: Path
) -> None:
    first = spawn_worker(**FAST_BEAT)
    first.wait_for_log(" ready ")
    second = spawn_worker(**FAST_BEAT)
    second.wait_for_log(" ready ")
    pids = {first.process.pid, second.process.pid}
    seen: set[int] = set()

    def both_have_beaten_since() -> bool:
        seen.add(int(heartbeat(tmp_path)["pid"]))
        return seen == pids

    wait_for(both_have_beaten_since, what="beats of both workers after the second started")
    assert second.stop() == 0
    assert first.stop() == 0

    warnings = [line for line in second.stderr.splitlines() if "HEARTBEAT_FILE" in line]
    assert len(warnings) == 1, second.stderr
    assert "WARNING" in warnings[0]
    assert "HEARTBEAT_FILE" not in first.stderr


def test_a_leftover_heartbeat_file_with_bad_figures_does_not_stop_the_start(
    spawn_worker: Spawn, tmp_path: Path
) -> None:
    """Before, the check for a second worker read the figures unguarded: a TypeError and a
    traceback at start-up."""
    heartbeat = tmp_path / "worker.heartbeat"
    heartbeat.write_text('{"pid": 1, "time": null}')
    worker = spawn_worker(HEARTBEAT_FILE=str(heartbeat))
    worker.wait_for_log(" ready ")
    assert worker.stop() == 0
    assert "Traceback" not in worker.stderr
