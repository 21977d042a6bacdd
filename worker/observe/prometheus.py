"""The Prometheus endpoint: run records become the DESIGN metric families.

Imported only when METRICS_PORT is set. The families live in a registry of their own (not
prometheus-client's global one) with the process and platform collectors; labels are the
task name and the outcome only, never a fire id or an error text.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIServer

from loguru import logger
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)
from typing_extensions import override

from worker.connect.outage import OutageMonitor
from worker.errors import ConfigError
from worker.lifecycle import Service
from worker.run.records import OUTCOMES, RunListener, RunRecord, StuckRun

if TYPE_CHECKING:
    from worker.connect.nats import NatsConnection

# fmt: off
SECONDS_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
)
# fmt: on
"""From a few milliseconds (a trigger) to ten minutes (a cleanup), for durations and lags."""
NOT_RUN = ("skipped", "missed", "abandoned")
"""Outcomes of fires whose method never ran: counted, but no duration or lag to observe."""


class PrometheusMetrics(RunListener, Service):
    """A run listener that counts into its registry and serves it on `addr:port`."""

    wants_queue_counts = True

    def __init__(
        self, *, port: int, addr: str, outage: OutageMonitor, nats: NatsConnection | None = None
    ) -> None:
        self._port, self._addr = port, addr
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        task = ("task",)
        self._runs = Counter(
            "worker_runs", "Fires by task and outcome.", ("task", "outcome"), registry=registry
        )
        self._duration = _by_task_histogram(
            "worker_run_duration_seconds", "How long runs took (fires that ran).", registry
        )
        self._lag = _by_task_histogram(
            "worker_fire_lag_seconds",
            "From a fire's scheduled instant to its run's start.",
            registry,
        )
        self._last_success = Gauge(
            "worker_last_success_timestamp_seconds",
            "When a run of the task last ended ok.",
            task,
            registry=registry,
        )
        self._missed = Counter(
            "worker_missed_fires",
            "Fires not run on time (folded or too late).",
            task,
            registry=registry,
        )
        self._stuck = Counter("worker_stuck_runs", "Runs reported stuck.", task, registry=registry)
        self._claims = Counter(
            "worker_claims",
            "Cluster claims by task and result (won, stale, busy, early, taken, recovered).",
            ("task", "result"),
            registry=registry,
        )
        self._loop_blocked = Counter(
            "worker_loop_blocked_seconds",
            "Seconds the event loop was held by a task (a block of 1 s or more).",
            registry=registry,
        )
        redis_up = Gauge("worker_redis_up", "1 while Redis answers this worker.", registry=registry)
        # Read at scrape time (in the server's thread): the monitor holds the truth.
        redis_up.set_function(lambda: 0.0 if outage.down else 1.0)
        self._queue_jobs = Gauge(
            "worker_queue_jobs",
            "Jobs of each queue by state (bullmq's counts, refreshed by the processors).",
            ("queue", "state"),
            registry=registry,
        )
        self._deliveries = Counter(
            "worker_target_deliveries",
            "Trigger sends by target and result (delivered, failed, timeout, folded, dropped).",
            ("target", "result"),
            registry=registry,
        )
        if nats is not None:  # only when a NATS target is configured
            nats_up = Gauge("worker_nats_up", "1 while NATS is connected.", registry=registry)
            nats_up.set_function(lambda: 1.0 if nats.up else 0.0)
        self._tasks: set[str] = set()
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @override
    def on_run(self, record: RunRecord) -> None:
        task = record.task
        if task not in self._tasks:
            self._introduce(task)
        self._runs.labels(task, record.outcome).inc()
        if record.missed > 0:
            self._missed.labels(task).inc(record.missed)
        if record.outcome in NOT_RUN:
            return
        self._duration.labels(task).observe(record.duration_ms / 1000)
        self._lag.labels(task).observe(max(record.lag_ms, 0.0) / 1000)
        if record.outcome == "ok":
            self._last_success.labels(task).set(time.time())

    @override
    def queue_counts(self, queue: str, counts: dict[str, int]) -> None:
        for state, count in counts.items():
            self._queue_jobs.labels(queue, state).set(count)

    @override
    def on_stuck(self, stuck: StuckRun) -> None:
        if stuck.task not in self._tasks:
            self._introduce(stuck.task)
        self._stuck.labels(stuck.task).inc()

    @override
    def on_claim(self, task: str, result: str) -> None:
        """Called on the loop by the cluster gate, once per claim answered."""
        self._claims.labels(task, result).inc()

    @override
    def on_loop_blocked(self, task: str, seconds: float) -> None:
        self._loop_blocked.inc(seconds)

    @override
    def on_delivery(self, target: str, result: str) -> None:
        self._deliveries.labels(target, result).inc()

    @override
    async def start(self) -> None:
        """Listen now; a port taken or an address that is not this host's ends start-up."""
        where = f"{self._addr}:{self._port}"
        try:
            self._server, self._thread = start_http_server(
                self._port, self._addr, registry=self.registry
            )
        except socket.gaierror as exc:
            raise ConfigError(f"METRICS_ADDR: {self._addr}: cannot be resolved ({exc})") from None
        except OSError as exc:
            raise ConfigError(f"METRICS_PORT: cannot listen on {where}: {exc.strerror}") from None
        logger.bind(addr=self._addr, port=self._port).info("metrics endpoint listening")

    @override
    async def close(self, timeout: float) -> None:
        """Stop serving now. The server's loop reads its stop flag only between waits of 0.5 s:
        shutting the listening socket wakes it at once (and refuses new connections)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        stopping = asyncio.ensure_future(asyncio.to_thread(server.shutdown))
        with contextlib.suppress(OSError):
            server.socket.shutdown(socket.SHUT_RDWR)
        done, _ = await asyncio.wait({stopping}, timeout=max(timeout, 0.01))
        if not done:
            logger.bind(port=self._port).warning("metrics endpoint not stopped in time")
            return
        server.server_close()
        thread.join(timeout=0.1)  # its loop has returned: this is immediate

    def _introduce(self, task: str) -> None:
        """Every series of a new task at zero, so `increase()` sees its first failure."""
        self._tasks.add(task)
        for outcome in OUTCOMES:
            self._runs.labels(task, outcome)
        for family in (self._missed, self._stuck, self._duration, self._lag):
            family.labels(task)


def _by_task_histogram(name: str, documentation: str, registry: CollectorRegistry) -> Histogram:
    return Histogram(name, documentation, ("task",), buckets=SECONDS_BUCKETS, registry=registry)
