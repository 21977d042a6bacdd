"""One attempt of one job → one log line and one run record (task `queue:<name>`).

Outcomes: `ok`; `retrying` (the attempt failed, bullmq will try again); `failed` (the last
attempt failed, or the processor said not to retry). Only final failures count as
consecutive failures, so alerts see a queue as they see a task: `retrying` counts for nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from loguru import logger

from worker.connect.errors import describe_error
from worker.protocol import format_instant
from worker.queues.job import Job, JobError, set_current_job
from worker.queues.options import QueueOptions
from worker.run.records import RunListener, RunRecord

Handler = Callable[[Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class BoundProcessor:
    """A discovered processor bound to its service instance, with its queue's options."""

    name: str
    queue: str
    handler: Handler
    options: QueueOptions


def run_task_name(queue: str) -> str:
    return f"queue:{queue}"


def is_final(error: BaseException, job: Job) -> bool:
    """Whether a failed attempt is the job's last one."""
    if isinstance(error, JobError) and not error.retry:
        return True
    return job.attempt >= job.attempts


class JobRuns:
    """Runs attempts and reports them to the run listeners (history, alerts, metrics)."""

    def __init__(self, *, instance_id: str, listeners: Sequence[RunListener]) -> None:
        self._instance_id = instance_id
        self._listeners = tuple(listeners)
        self._failures: dict[str, int] = {}

    async def attempt(
        self,
        processor: BoundProcessor,
        job: Job,
        data: Any,
        due: datetime,
        *,
        retry_in: Callable[[BaseException], float] | None = None,
    ) -> tuple[Any, RunRecord]:
        """Run the handler once; its exception (if any) goes up after the record is out.
        `retry_in` plans a failed attempt's retry (seconds), which its record then names."""
        set_current_job(job)
        started, clock = time.time(), time.perf_counter()
        outcome, error, failure = "ok", None, None
        result: Any = None
        try:
            result = await processor.handler(data)
        except asyncio.CancelledError:
            outcome, error = "cancelled", "cancelled at shutdown (left for stalled recovery)"
            raise
        except BaseException as exc:  # SystemExit, KeyboardInterrupt too: a failed attempt
            failure, error = exc, describe_error(exc)
            outcome = "failed" if is_final(exc, job) else "retrying"
            if outcome == "retrying" and retry_in is not None:
                error = f"{error} (retry in {_seconds(retry_in(exc))})"
        finally:
            record = self._record(processor, job, due, started, clock, outcome, error)
            self._report(record, processor, job, failure)
        if isinstance(failure, Exception):
            raise failure
        if failure is not None:  # bullmq must see a plain failure, never the loop's end
            raise RuntimeError(error) from failure
        return result, record

    def refuse(self, processor: BoundProcessor, job: Job, due: datetime, reason: str) -> RunRecord:
        """A job that cannot be run at all (its data cannot be read): a failed run, final,
        with the reason; the handler is never called."""
        started, clock = time.time(), time.perf_counter()
        record = self._record(processor, job, due, started, clock, "failed", reason)
        self._report(record, processor, job, None)
        return record

    def _record(
        self,
        processor: BoundProcessor,
        job: Job,
        due: datetime,
        started: float,
        clock: float,
        outcome: str,
        error: str | None,
    ) -> RunRecord:
        task = run_task_name(processor.queue)
        if outcome == "failed":
            self._failures[task] = self._failures.get(task, 0) + 1
        elif outcome == "ok":
            self._failures[task] = 0
        lag = started - due.timestamp() if job.attempt == 1 else 0.0
        return RunRecord(
            task=task,
            fire_id=job.id,
            scheduled_for=format_instant(due, precise=True),
            started_at=format_instant(datetime.fromtimestamp(started, UTC), precise=True),
            outcome=outcome,
            duration_ms=round((time.perf_counter() - clock) * 1000, 3),
            lag_ms=round(max(lag, 0.0) * 1000, 3),
            missed=0,
            instance=self._instance_id,
            error=error,
            consecutive_failures=self._failures.get(task, 0),
        )

    def _report(
        self,
        record: RunRecord,
        processor: BoundProcessor,
        job: Job,
        failure: BaseException | None,
    ) -> None:
        fields = record.log_fields()
        fields.pop("scheduled_for", None)
        fields.update(processor=processor.name, job=record.fire_id)
        fields["attempt"] = f"{job.attempt}/{job.attempts}"
        # Keyword arguments land in the line's fields as bind()'s would, without a new
        # logger per job (measurable at thousands of jobs a second).
        if record.outcome == "ok":
            logger.info("job", **fields)
        elif record.outcome == "failed" and failure is not None and not _expected(failure):
            logger.opt(exception=failure).error("job", **fields)
        else:
            logger.warning("job", **fields)
        for listener in self._listeners:
            try:
                listener.on_run(record)
            except Exception as exc:
                logger.opt(exception=exc).bind(task=record.task).error("run listener failed")


def _seconds(seconds: float) -> str:
    return f"{seconds:.3g}s" if seconds < 100 else f"{seconds:.0f}s"


def _expected(error: BaseException) -> bool:
    """A JobError is the processor's own verdict: its reason says it all, no traceback."""
    return isinstance(error, JobError)
