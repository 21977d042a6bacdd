"""The one run wrapper every fire goes through.

It decides what a fire becomes (run, folded into a running run, missed), runs the method
with its time limit, and turns the result into one log line and one run record. A future
per-fire cluster claim steps in through `FireGate` before the method runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from loguru import logger

from worker.definitions import TaskDefinition
from worker.fire import Fire, format_instant, set_current_fire
from worker.lifecycle import cancel_and_wait, run_in_thread
from worker.outage import OutageMonitor, describe_error, is_connection_error

OUTCOMES = ("ok", "failed", "timeout", "cancelled", "skipped", "missed")
FAILURES = ("failed", "timeout")


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What one fire became; appended to the run history."""

    task: str
    fire_id: str
    scheduled_for: str
    started_at: str
    outcome: str
    duration_ms: float
    lag_ms: float
    missed: int
    instance: str
    error: str | None = None
    consecutive_failures: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict (what `dataclasses.asdict` gives, without its deep copies)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class RunSink(Protocol):
    def record(self, record: RunRecord) -> None: ...


class ResultListener(Protocol):
    def task_result(self, record: RunRecord) -> None: ...


class FireGate(Protocol):
    """Decides whether this process runs a fire (a cluster claim will implement it)."""

    async def admit(self, task: TaskDefinition, fire: Fire) -> bool: ...


@dataclass(slots=True)
class _ActiveRun:
    fire: Fire
    task: asyncio.Task[None]


class Runner:
    """Owns every in-flight run; at most one per task, newer fires fold into it."""

    def __init__(
        self,
        *,
        instance_id: str,
        misfire_grace: float,
        sink: RunSink,
        outage: OutageMonitor,
        listeners: Sequence[ResultListener] = (),
        gate: FireGate | None = None,
    ) -> None:
        self._instance_id = instance_id
        self._misfire_grace = misfire_grace
        self._sink = sink
        self._outage = outage
        self._listeners = tuple(listeners)
        self._gate = gate
        self._tasks: dict[str, tuple[TaskDefinition, Callable[[], Any]]] = {}
        self._active: dict[str, _ActiveRun] = {}
        self._failures: dict[str, int] = {}
        self._accepting = True

    def add(self, definition: TaskDefinition, method: Callable[[], Any]) -> None:
        self._tasks[definition.name] = (definition, method)

    def remove(self, name: str) -> None:
        self._tasks.pop(name, None)

    def consecutive_failures(self, name: str) -> int:
        return self._failures.get(name, 0)

    def running(self, name: str) -> bool:
        return name in self._active

    def submit(
        self, name: str, run_times: Sequence[datetime], *, grace: bool = True
    ) -> asyncio.Task[None] | None:
        """Hand over the due instants of one task (oldest first); returns a started run.

        `grace=False` (a run asked for now) skips the MISFIRE_GRACE check.
        """
        entry = self._tasks.get(name)
        if entry is None or not self._accepting or not run_times:
            return None
        definition, method = entry
        now = datetime.now(UTC)
        limit = self._misfire_grace if grace else float("inf")
        due = [t for t in run_times if (now - t).total_seconds() <= limit]
        late = len(run_times) - len(due)
        if late:
            self._report_missed(definition, run_times[late - 1], late, now)
        if not due:
            return None
        newest = due[-1].astimezone(UTC)
        active = self._active.get(name)
        if active is not None:
            active.fire.fold(newest, len(due))
            self._report_skipped(definition, newest, active.fire)
            return None
        fire = Fire(name, newest, missed=len(due) - 1, precise=definition.precise)
        task = asyncio.create_task(self._execute(definition, method, fire), name=f"run:{name}")
        self._active[name] = _ActiveRun(fire, task)
        return task

    def run_now(self, name: str) -> asyncio.Task[None] | None:
        return self.submit(name, [datetime.now(UTC)], grace=False)

    async def drain(self, timeout: float, force: asyncio.Event | None = None) -> int:
        """Stop accepting fires, wait up to `timeout` for runs, cancel the rest; return how many.

        `force` set (a second signal) cancels at once.
        """
        self._accepting = False
        pending: set[asyncio.Future[Any]] = {active.task for active in self._active.values()}
        if not pending:
            return 0
        logger.bind(runs=len(pending)).info("waiting for runs in flight")
        forced = asyncio.ensure_future(force.wait()) if force is not None else None
        deadline = asyncio.get_running_loop().time() + max(timeout, 0)
        try:
            while pending and not (forced and forced.done()):
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                waiters = pending | ({forced} if forced else set())
                done, _ = await asyncio.wait(
                    waiters, timeout=remaining, return_when="FIRST_COMPLETED"
                )
                pending -= done
        finally:
            if forced is not None:
                forced.cancel()
        if not pending:
            return 0
        logger.bind(runs=len(pending)).warning("cancelling runs in flight")
        await cancel_and_wait(pending, timeout=1.0)
        return len(pending)

    async def _execute(
        self, definition: TaskDefinition, method: Callable[[], Any], fire: Fire
    ) -> None:
        set_current_fire(fire)
        started = time.time()
        clock = time.perf_counter()
        lag_ms = (started - fire.scheduled_for.timestamp()) * 1000
        outcome, error = "ok", None
        exc_info: BaseException | None = None
        limit = asyncio.timeout(definition.time_limit or None)
        try:
            if self._gate is not None and not await self._gate.admit(definition, fire):
                outcome, error = "skipped", "not admitted by the fire gate"
                return
            async with limit:
                if definition.is_async:
                    await method()
                else:
                    await run_in_thread(method)
        except asyncio.CancelledError:
            outcome, error = "cancelled", "cancelled at shutdown"
            raise
        except TimeoutError as exc:
            if limit.expired():
                outcome, error = "timeout", f"time limit of {definition.time_limit:g}s exceeded"
            else:
                outcome, error, exc_info = "failed", describe_error(exc), exc
        except Exception as exc:
            outcome, error, exc_info = "failed", describe_error(exc), exc
        finally:
            self._active.pop(definition.name, None)
            duration_ms = (time.perf_counter() - clock) * 1000
            record = RunRecord(
                task=definition.name,
                fire_id=fire.id,
                scheduled_for=fire.stamp,
                started_at=format_instant(datetime.fromtimestamp(started, UTC), precise=True),
                outcome=outcome,
                duration_ms=round(duration_ms, 3),
                lag_ms=round(lag_ms, 3),
                missed=fire.missed,
                instance=self._instance_id,
                error=error,
            )
            self._finish(record, exc_info)

    def _finish(self, record: RunRecord, exc: BaseException | None) -> None:
        name = record.task
        if record.outcome in FAILURES:
            self._failures[name] = self._failures.get(name, 0) + 1
        elif record.outcome == "ok":
            self._failures[name] = 0
        record = replace(record, consecutive_failures=self._failures.get(name, 0))
        log = logger.bind(**_fields(record))
        if record.outcome == "ok":
            log.info("run")
        elif exc is not None and is_connection_error(exc):
            self._outage.failure(exc)
            log.warning("run")
        elif exc is not None:
            log.opt(exception=exc).error("run")
        else:
            log.warning("run")
        self._sink.record(record)
        for listener in self._listeners:
            listener.task_result(record)

    def _report_skipped(self, definition: TaskDefinition, newest: datetime, into: Fire) -> None:
        fire = Fire(definition.name, newest, precise=definition.precise)
        error = f"previous run still going, folded into it (now {into.id}, missed={into.missed})"
        record = self._bare_record(fire, "skipped", error)
        logger.bind(**_fields(record)).warning("run")
        self._sink.record(record)

    def _report_missed(
        self, definition: TaskDefinition, newest: datetime, count: int, now: datetime
    ) -> None:
        fire = Fire(definition.name, newest.astimezone(UTC), precise=definition.precise)
        late_s = (now - fire.scheduled_for).total_seconds()
        error = f"{count} fire(s) older than MISFIRE_GRACE ({late_s:.1f}s late), not run"
        record = self._bare_record(fire, "missed", error, missed=count)
        logger.bind(**_fields(record)).warning("run")
        self._sink.record(record)

    def _bare_record(self, fire: Fire, outcome: str, error: str, missed: int = 0) -> RunRecord:
        return RunRecord(
            task=fire.task,
            fire_id=fire.id,
            scheduled_for=fire.stamp,
            started_at=format_instant(datetime.now(UTC), precise=True),
            outcome=outcome,
            duration_ms=0.0,
            lag_ms=0.0,
            missed=missed,
            instance=self._instance_id,
            error=error,
            consecutive_failures=self._failures.get(fire.task, 0),
        )


def _fields(record: RunRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "task": record.task,
        "outcome": record.outcome,
        "scheduled_for": record.scheduled_for,
        "lag_ms": record.lag_ms,
        "duration_ms": record.duration_ms,
    }
    if record.missed:
        fields["missed"] = record.missed
    if record.error:
        fields["error"] = record.error
    if record.consecutive_failures:
        fields["consecutive_failures"] = record.consecutive_failures
    return fields
