"""A fire's end: its one record (built here only), its one log line, every listener told.

Whether the fire ran (ok, failed, timeout, cancelled, a `skipped` admission) or never
started (folded into a running run, older than MISFIRE_GRACE), the record has one shape and
one way out. The task's failures in a row are counted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from loguru import logger

from worker.connect.errors import is_redis_outage
from worker.connect.outage import OutageMonitor
from worker.protocol import format_instant
from worker.run.fire import Fire
from worker.run.records import FAILURES, RunListener, RunRecord


class GateTimeout(Exception):
    """The gate did not answer in time: the fire is not run here (recorded `failed`)."""


class RunReports:
    """Builds each record, logs its line, hands it to every run listener."""

    def __init__(
        self, instance_id: str, listeners: Sequence[RunListener], outage: OutageMonitor
    ) -> None:
        self._instance_id = instance_id
        self._listeners = tuple(listeners)
        self._outage = outage
        self._failures: dict[str, int] = {}

    def consecutive_failures(self, name: str) -> int:
        return self._failures.get(name, 0)

    def continue_streak(self, name: str, failures: int) -> None:
        """The fleet-wide streak a claim carries: this run continues it."""
        self._failures[name] = failures

    def record(
        self,
        fire: Fire,
        outcome: str,
        error: str | None,
        *,
        started: float | None = None,
        duration_ms: float = 0.0,
        lag_ms: float = 0.0,
        missed: int | None = None,
    ) -> RunRecord:
        """The record of `fire`; `started` (epoch seconds) defaults to now (a fire not run)."""
        at = datetime.now(UTC) if started is None else datetime.fromtimestamp(started, UTC)
        return RunRecord(
            task=fire.task,
            fire_id=fire.id,
            scheduled_for=fire.stamp,
            started_at=format_instant(at, precise=True),
            outcome=outcome,
            duration_ms=duration_ms,
            lag_ms=lag_ms,
            missed=fire.missed if missed is None else missed,
            instance=self._instance_id,
            error=error,
            consecutive_failures=self._failures.get(fire.task, 0),
            recovered=fire.recovered,
            targets_delivered=_targets(fire, "delivered"),
            targets_pending=_targets(fire, "pending"),
        )

    def finish(self, record: RunRecord, exc: BaseException | None, quiet: bool) -> RunRecord:
        """A run's end: the streak moves on, one line (its level by outcome), the listeners."""
        name = record.task
        if record.outcome in FAILURES:
            self._failures[name] = self._failures.get(name, 0) + 1
        elif record.outcome == "ok":
            self._failures[name] = 0
        record = replace(record, consecutive_failures=self._failures.get(name, 0))
        log = logger.bind(**record.log_fields())
        if record.outcome == "ok":
            log.info("run")
        elif exc is not None and is_redis_outage(exc):
            self._outage.failure(exc)
            log.warning("run")
        elif exc is not None and not isinstance(exc, GateTimeout):
            log.opt(exception=exc).error("run")
        elif quiet:
            log.info("run")
        else:
            log.warning("run")
        self.notify(record)
        return record

    def report(self, fire: Fire, outcome: str, error: str, missed: int = 0) -> None:
        """A fire that did not run (skipped, missed): one line and one record, like a run."""
        record = replace(self.record(fire, outcome, error, missed=missed), recovered=False)
        logger.bind(**record.log_fields()).warning("run")
        self.notify(record)

    def notify(self, record: RunRecord) -> None:
        for listener in self._listeners:
            try:
                listener.on_run(record)
            except Exception as exc:
                logger.opt(exception=exc).bind(task=record.task).error("run listener failed")


def _targets(fire: Fire, state: str) -> str:
    """Trigger targets whose lane had `state` for this run's fire when it ended (a comma list)."""
    return ",".join(name for name, seen in fire.targets.items() if seen == state)
