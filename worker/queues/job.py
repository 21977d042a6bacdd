"""`current_job()`: the job a processor is handling (a contextvar, as `current_fire()`)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from worker.errors import WorkerError


@dataclass(frozen=True, slots=True)
class Job:
    """The job a processor runs: its id, which attempt this is (1 = the first), its queue."""

    id: str
    attempt: int
    queue: str
    name: str
    attempts: int
    """How many attempts the job may have in all."""


_current: ContextVar[Job] = ContextVar("worker_current_job")
_enqueue_args: ContextVar[tuple[str, ...]] = ContextVar("worker_enqueue_args", default=())


def current_job() -> Job:
    """The running job; only inside a `@processor` method."""
    try:
        return _current.get()
    except LookupError:
        raise WorkerError("current_job() is only available inside a processor") from None


def set_current_job(job: Job) -> None:
    _current.set(job)


def enqueue_args() -> tuple[str, ...]:
    """The arguments of `worker enqueue TASK ARG…` in the task run it started; () otherwise
    (a scheduled fire, or `enqueue TASK` without arguments)."""
    return _enqueue_args.get()


def set_enqueue_args(args: tuple[str, ...]) -> None:
    _enqueue_args.set(args)


class JobError(Exception):
    """Raised by a processor to say how its job failed.

    `retry=False`: fail now, whatever attempts are left (a 404, bad data). `retry_after`
    (seconds): the next attempt comes no sooner than that (a `Retry-After` header), when
    it is longer than the backoff, and no later than QUEUE_MAX_RETRY_AFTER.
    """

    def __init__(
        self, message: str, *, retry: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after
