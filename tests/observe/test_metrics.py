"""The Prometheus endpoint of a running `python -m worker`, scraped over real HTTP."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable

import psutil
import pytest

from tests.metrics_support import RUNS, Exposition, scrape, scrape_until
from tests.support import RedisServer, WorkerProcess, free_port
from worker.run.records import OUTCOMES

# The `result` labels of `worker_claims_total` and `worker_target_deliveries_total` (README
# "Metrics"): both are counted whenever the shipped crypto-trigger fires (:00, :15, :30, :45).
CLAIM_RESULTS = ("won", "stale", "busy", "early", "taken", "recovered")
DELIVERY_RESULTS = ("delivered", "failed", "timeout", "folded", "dropped")

Spawn = Callable[..., WorkerProcess]
SpawnScraped = Callable[..., tuple[WorkerProcess, int]]
EVERY_SECOND = {"SCHEDULE_CRYPTO_TRIGGER": "* * * * * *"}
CUSTOM = ("--app", "tests.apps.custom:Container")
TRIGGER = "crypto-trigger"
PAUSE = 4.0
"""Seconds the worker is stopped for: with MISFIRE_GRACE=1, at least two fires are too late."""


@pytest.fixture
def spawn_scraped(spawn_worker: Spawn) -> SpawnScraped:
    """A worker with METRICS_PORT set to a free port; returns it and the port."""

    def spawn(*args: str, **env: str) -> tuple[WorkerProcess, int]:
        port = free_port()
        return spawn_worker(*args, METRICS_PORT=str(port), **env), port

    return spawn


def listening_ports(worker: WorkerProcess) -> list[int]:
    connections = psutil.Process(worker.process.pid).net_connections(kind="tcp")
    return [c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN]


def test_without_metrics_port_nothing_listens_and_prometheus_client_is_not_imported(
    spawn_worker: Spawn,
) -> None:
    worker = spawn_worker(PYTHONPROFILEIMPORTTIME="1", **EVERY_SECOND)
    worker.wait_for_log(f"task={TRIGGER} outcome=ok")
    assert listening_ports(worker) == []
    assert "prometheus_client" not in worker.stderr
    assert "import time:" in worker.stderr, "the import log is on: its silence means something"
    assert worker.stop() == 0


def test_ok_runs_move_the_run_counter_both_histograms_and_last_success(
    spawn_scraped: SpawnScraped,
) -> None:
    before = time.time()
    worker, port = spawn_scraped(**EVERY_SECOND)
    found = scrape_until(
        port, lambda e: e.value(RUNS, task=TRIGGER, outcome="ok") >= 2, "two ok runs"
    )
    assert found.value("worker_run_duration_seconds_count", task=TRIGGER) >= 1
    assert found.value("worker_fire_lag_seconds_count", task=TRIGGER) >= 1
    assert found.value("worker_last_success_timestamp_seconds", task=TRIGGER) > before
    assert found.value(RUNS, -1, task=TRIGGER, outcome="failed") == 0, "present from the start"
    assert found.value("worker_redis_up", -1) == 1
    assert found.value("process_resident_memory_bytes") > 0
    assert "python_info" in found.text
    assert listening_ports(worker) == [port]
    assert worker.stop() == 0


def test_sigterm_right_after_a_scrape_does_not_wait_out_the_servers_poll_interval(
    spawn_scraped: SpawnScraped,
) -> None:
    worker, port = spawn_scraped(**EVERY_SECOND)
    scrape_until(port, lambda e: e.value(RUNS, task=TRIGGER, outcome="ok") >= 1, "an ok run")
    scrape(port)  # the server's loop starts a fresh 0.5 s wait now
    started = time.monotonic()
    assert worker.stop() == 0
    assert time.monotonic() - started < 0.45
    assert "metrics endpoint not stopped" not in worker.stderr


def test_failing_runs_are_counted_without_fire_ids_or_error_texts(
    spawn_scraped: SpawnScraped,
) -> None:
    worker, port = spawn_scraped(*CUSTOM, PROBE_FAIL_EVERY="200ms")
    found = scrape_until(
        port, lambda e: e.value(RUNS, task="probe-fail", outcome="failed") >= 3, "three failures"
    )
    assert "probe failure" in worker.stderr, "the runs did carry an error text"
    assert "probe failure" not in found.text
    assert "probe-fail:" not in found.text, "a fire id is the task, a colon and the instant"
    for name, labels in found.samples:
        if name.startswith("worker_"):
            allowed = {"task", "outcome", "le", "queue", "state", "result", "target"}
            assert {key for key, _ in labels} <= allowed, name
            assert dict(labels).get("outcome", "ok") in OUTCOMES, name
            if "result" in dict(labels):
                results = DELIVERY_RESULTS if "target" in dict(labels) else CLAIM_RESULTS
                assert dict(labels)["result"] in results, (name, labels)
    assert worker.stop() == 0


def test_fires_arriving_while_the_previous_run_goes_on_count_as_skipped_not_timed(
    spawn_scraped: SpawnScraped,
) -> None:
    worker, port = spawn_scraped(
        *CUSTOM, PROBE_STUCK_EVERY="200ms", PROBE_STUCK_SECONDS="30", SHUTDOWN_TIMEOUT="1"
    )
    found = scrape_until(
        port, lambda e: e.value(RUNS, task="probe-stuck", outcome="skipped") >= 2, "two skipped"
    )
    assert found.value("worker_run_duration_seconds_count", -1, task="probe-stuck") == 0
    assert found.value("worker_fire_lag_seconds_count", -1, task="probe-stuck") == 0
    assert worker.stop() == 0


def test_a_run_going_on_past_three_periods_counts_as_stuck(spawn_scraped: SpawnScraped) -> None:
    worker, port = spawn_scraped(
        *CUSTOM, PROBE_STUCK_EVERY="200ms", PROBE_STUCK_SECONDS="30", SHUTDOWN_TIMEOUT="1"
    )
    scrape_until(
        port, lambda e: e.value("worker_stuck_runs_total", task="probe-stuck") == 1, "stuck run"
    )
    worker.wait_for_log("run stuck")
    assert worker.stop() == 0


def test_fires_older_than_misfire_grace_count_as_missed_and_feed_no_histogram(
    spawn_scraped: SpawnScraped,
) -> None:
    worker, port = spawn_scraped(MISFIRE_GRACE="1", **EVERY_SECOND)
    scrape_until(port, lambda e: e.value(RUNS, task=TRIGGER, outcome="ok") >= 1, "an ok run")
    worker.signal(signal.SIGSTOP)
    time.sleep(PAUSE)  # the fault itself: the process is stopped this long
    worker.signal(signal.SIGCONT)

    def missed_and_histograms_agree(e: Exposition) -> bool:
        ran = e.ran(TRIGGER)
        return e.value(RUNS, task=TRIGGER, outcome="missed") >= 1 and (
            e.value("worker_run_duration_seconds_count", task=TRIGGER)
            == e.value("worker_fire_lag_seconds_count", task=TRIGGER)
            == ran
        )

    found = scrape_until(port, missed_and_histograms_agree, "a missed record, histograms = runs")
    assert found.value("worker_missed_fires_total", task=TRIGGER) >= 2
    worker.wait_for_log(f"task={TRIGGER} outcome=missed")
    assert worker.stop() == 0


def test_redis_up_goes_to_zero_while_redis_is_down_and_back_to_one(
    spawn_scraped: SpawnScraped, own_redis: RedisServer
) -> None:
    worker, port = spawn_scraped(redis=own_redis.url, **EVERY_SECOND)
    up = scrape_until(port, lambda e: e.value(RUNS, task=TRIGGER, outcome="ok") >= 1, "a run")
    assert up.value("worker_redis_up", -1) == 1
    own_redis.kill()
    scrape_until(port, lambda e: e.value("worker_redis_up", -1) == 0, "redis down")
    own_redis.start()
    scrape_until(port, lambda e: e.value("worker_redis_up", -1) == 1, "redis up again")
    worker.wait_for_log("outage ended")
    assert worker.stop() == 0


def test_metrics_port_in_use_ends_start_up_with_one_line_and_exit_78(spawn_worker: Spawn) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = spawn_worker(METRICS_PORT=str(port))
        assert worker.wait(timeout=15) == 78
    last = worker.stderr.strip().splitlines()[-1]
    assert last == (
        f"worker: error: METRICS_PORT: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert "Traceback" not in worker.stderr
    assert " ready " not in worker.stderr, "no ready line: start-up ended first"


def test_run_task_serves_no_endpoint_so_it_runs_beside_a_worker_holding_the_port(
    spawn_worker: Spawn,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        one_run = spawn_worker("run-task", TRIGGER, METRICS_PORT=str(port))
        assert one_run.wait(timeout=15) == 0, one_run.stderr
    assert f"task={TRIGGER} outcome=ok" in one_run.stderr


def test_check_says_whether_metrics_are_on(spawn_worker: Spawn) -> None:
    off = spawn_worker("check")
    on = spawn_worker("check", METRICS_PORT="9100", METRICS_ADDR="0.0.0.0")
    assert (off.wait(), on.wait()) == (0, 0)
    assert off.stdout.rstrip().endswith(", metrics off")
    assert on.stdout.rstrip().endswith(", metrics on 0.0.0.0:9100")
