"""A replica's clock against Redis's: one running ahead by more than CLAIM_SKEW can claim no
cluster fire (each is refused as early), so it says so everywhere an operator looks: a
WARNING with the word `clock`, `status`, an alert, `health --ready`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.cluster.support import APP, EVERY_SECOND, LIBFAKETIME, Spawn, entries
from tests.support import RedisServer, WorkerProcess, status_when, wait_for, worker_env
from worker.observe.clock import ClockCheck, ClockState
from worker.state.keys import Keys


def test_an_offset_past_claim_skew_blocks_claims_and_comes_back_only_inside_the_margin() -> None:
    clock = ClockCheck(skew=2.0)
    seen: list[bool] = []
    clock.watch(lambda c: seen.append(c.blocked))
    clock.observe(0.3)  # the first measure
    assert clock.state is ClockState.OK
    assert not seen, "in step: nothing to say"
    assert clock.observe(3.0)
    assert clock.blocked
    assert not clock.observe(1.9), "on the edge: still ahead (no flapping)"
    assert clock.observe(1.5)
    assert clock.figures()["clock"] == "ok"
    assert clock.observe(-2.5)
    assert clock.figures()["clock"] == "behind"
    assert not clock.blocked
    assert seen == [True, False, False]


def test_a_processor_only_replica_ahead_blocks_nothing() -> None:
    clock = ClockCheck(skew=2.0, roles=("processor",))
    clock.observe(3.0)
    assert clock.state is ClockState.AHEAD
    assert not clock.blocked


def _skewed_replica(tmp_path: Path, redis_url: str, spec: Path) -> WorkerProcess:
    """A lone replica whose wall clock is what `spec` says (libfaketime re-reads the file
    every second, so the test can set the clock right while it runs); monotonic untouched."""
    env = worker_env(
        redis_url,
        HEARTBEAT_FILE=str(tmp_path / "skewed.heartbeat"),
        HEARTBEAT_INTERVAL="1",
        WORKER_INSTANCE_ID="skewed",
        LOG_LEVEL="INFO",
        FLEET_TICK_CRON=EVERY_SECOND,
        ALERT_AFTER_FAILURES="3",
        LD_PRELOAD=LIBFAKETIME[0],
        FAKETIME_TIMESTAMP_FILE=str(spec),
        FAKETIME_DONT_FAKE_MONOTONIC="1",
        # Re-read at most once a second. FAKETIME_NO_CACHE (re-read on every call) stalled
        # the replica's event loop 1 to 3 s at a time on some machines, for libfaketime's
        # own reasons: its clock was then measured too coarsely to say it ran ahead.
        FAKETIME_CACHE_DURATION="1",
    )
    return WorkerProcess(list(APP), env, tmp_path)


def _probe(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    """`worker health ARGS` on the replica's heartbeat file; None when it exits 0."""
    env = worker_env("redis://127.0.0.1:1/0", HEARTBEAT_FILE=str(tmp_path / "skewed.heartbeat"))
    done = subprocess.run(
        [sys.executable, "-m", "worker", "health", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done if done.returncode else None


def _alerts(client: redis.Redis) -> list[dict[str, Any]]:
    found: Any = client.xrange(Keys("worker:").alerts)
    return [json.loads(fields[b"data"]) for _, fields in found]


@pytest.mark.slow
@pytest.mark.skipif(not LIBFAKETIME, reason="missing tool: Debian's faketime (libfaketime)")
def test_a_replica_three_seconds_ahead_says_it_can_claim_nothing_until_set_right(
    spawn_worker: Spawn, tmp_path: Path, redis_url: str, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    spec = tmp_path / "faketime"
    spec.write_text("+3s\n")
    worker = _skewed_replica(tmp_path, redis_url, spec)
    try:
        worker.wait_for_log(" ready ", timeout=30)
        logs = worker.wait_for_log("clock ahead of redis").splitlines()
        (line,) = [line for line in logs if "clock ahead of redis" in line]
        assert " WARNING " in line, line
        assert "claim no cluster fire" in line, line
        offset = float(line.split("clock_offset_s=")[1].split()[0])
        assert 2.5 < offset < 3.5, line
        ready = wait_for(lambda: _probe(tmp_path, "--ready"), what="not ready")
        assert ready is not None
        assert "s ahead of redis" in ready.stdout
        assert "claim no cluster fire" in ready.stdout
        assert _probe(tmp_path) is None, "alive: a restart would not set the clock"
        report = status_when(
            spawn_worker,
            lambda r: any(i.get("clock") == "ahead" for i in r["instances"]),
            *APP,
        )
        (record,) = report["instances"]
        assert 2500 < record["clock_offset_ms"] < 3500, record["clock_offset_ms"]
        alert = wait_for(lambda: [a for a in _alerts(client) if a["task"] == "clock"])[0]
        assert alert["state"] == "skewed", alert
        assert alert["instance"] == "skewed", alert
        assert not entries(client, "tick"), "every claim refused as early"
        spec.write_text("+0s\n")  # the clock set right
        worker.wait_for_log("clock back in step with redis")
        wait_for(lambda: _probe(tmp_path, "--ready") is None, what="ready again")
        wait_for(lambda: [a for a in _alerts(client) if a["state"] == "recovered"])
        wait_for(lambda: entries(client, "tick"), what="fires served once in step")
        assert worker.stop() == 0
    finally:
        worker.close()
    assert worker.stderr.count("clock ahead of redis") == 1, "one warning per change"
