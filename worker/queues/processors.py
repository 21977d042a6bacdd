"""One bullmq `Worker` per processor: started after `ready`, closed within the shutdown deadline.

At shutdown each Worker stops taking jobs and its active jobs get what is left of the
deadline to finish; past it the Worker is force-closed: the jobs it still holds stay active
in Redis and bullmq's stalled-job check (on any replica, Node's too) puts them back once
their lock expires. Nothing is acknowledged that did not run.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loguru import logger
from typing_extensions import override

from worker.concurrency import cancel_and_wait, wait_for_all
from worker.connect.errors import describe_error
from worker.connect.redis import DEFAULT_TIMEOUT, make_client
from worker.lifecycle import Service
from worker.queues.job import Job, JobError
from worker.queues.queues import load_bullmq
from worker.queues.retries import capped_retry_after, retry_delay
from worker.queues.runs import BoundProcessor, JobRuns, is_final
from worker.run.records import RunListener

if TYPE_CHECKING:
    from worker.state.queues import QueueReader

FORCE_CLOSE_WAIT = 0.3
"""What each step of a force close may take (force-closing cancels, it does not wait)."""
COUNTS_INTERVAL = 10.0
"""How often the queue counts gauge (`worker_queue_jobs`) is refreshed, when metrics are on."""
BLOCKING_READ_TIMEOUT = 15.0
"""The read timeout of a Worker's connections: above the longest BZPOPMIN bullmq sends (10 s),
so a wait ends with Redis's answer; a frozen Redis still shows within it."""
CHECKS_PER_LOCK = 10
"""bullmq's stalled check and lock renewal run this often per QUEUE_LOCK_DURATION, so a dead
replica's job is back in `wait` between 0.8 and 1.1 lock durations after it died. With bullmq's
defaults (both every lock duration, renewal at half of it) it took up to twice as long: a job
is marked by one check after its last renewal and moved by a later one once its lock is gone."""


class Processors(Service):
    """The queue side of a running worker (a container provider). Not one of the container's
    `services`: bound to the discovered processors, it starts after `ready` (`start_soon`)
    and closes while the runs drain, until a second signal (`force`)."""

    def __init__(
        self,
        *,
        url: str,
        prefix: str,
        lock_duration: float,
        max_retry_after: float,
        runs: JobRuns,
        metrics: RunListener | None = None,
        reader: QueueReader | None = None,
        sentinels: tuple[tuple[str, int], ...] = (),
        master: str = "mymaster",
    ) -> None:
        self._url = url
        self._sentinels, self._master = sentinels, master
        self._prefix = prefix
        self._lock_ms = round(lock_duration * 1000)
        self._max_retry_after = max_retry_after
        self._runs = runs
        self._bound: list[BoundProcessor] = []
        self._workers: list[Any] = []
        self._clients: list[Any] = []
        self._loops: list[asyncio.Task[Any]] = []
        self._starting: asyncio.Task[None] | None = None
        counting = metrics is not None and metrics.wants_queue_counts
        self._metrics = metrics if counting else None
        self._reader = reader

    @property
    def bound(self) -> Sequence[BoundProcessor]:
        return tuple(self._bound)

    def bind(self, processors: Sequence[BoundProcessor]) -> None:
        self._bound = list(processors)

    def start_soon(self) -> None:
        """Start the Workers in the background, off the path to `ready`."""
        if self._bound and self._starting is None:
            self._starting = asyncio.create_task(self.start(), name="queue-processors")

    @override
    async def start(self) -> None:
        await load_bullmq()
        from worker.queues.reading import ReadingWorker

        for bound in self._bound:
            options = {
                "connection": self._connection(),
                "prefix": self._prefix,
                "concurrency": bound.options.concurrency,
                "lockDuration": self._lock_ms,
                # bullmq renews a lock every half of lockRenewTime: every tenth of the lock.
                "lockRenewTime": max(self._lock_ms * 2 // CHECKS_PER_LOCK, 1),
                "stalledInterval": max(self._lock_ms // CHECKS_PER_LOCK, 1),
                "removeOnComplete": bound.options.keep_completed,
                "removeOnFail": bound.options.keep_failed,
                "autorun": False,  # its loop is a task of ours: a strong reference, awaited
            }
            worker = ReadingWorker(bound.queue, self._handler(bound), options)
            worker.on("error", _log_error(bound))
            self._workers.append(worker)
            self._loops.append(asyncio.create_task(worker.run(), name=f"queue:{bound.queue}"))
            logger.bind(
                queue=bound.queue, processor=bound.name, concurrency=bound.options.concurrency
            ).info("processor started")
        if self._metrics is not None and self._reader is not None:
            await self._refresh_counts(self._metrics, self._reader)

    def _connection(self) -> dict[str, Any]:
        """bullmq's `connection` for one Worker: a pool of ours (following the master with
        REDIS_SENTINELS) from which its main and blocking clients each take one connection,
        with bullmq's own retry (the "bullmq" policy). Never REDIS_URL itself: bullmq's URL
        clients get redis-py's default 5 s read timeout, shorter than the BZPOPMIN they block
        on (up to 10 s), so every wait for a delayed job timed out and was resent, and the job
        started only after bullmq's retries ran out, minutes late."""
        client = make_client(
            self._url,
            timeout=DEFAULT_TIMEOUT,
            read_timeout=BLOCKING_READ_TIMEOUT,
            sentinels=self._sentinels,
            master=self._master,
            retry="bullmq",
            decode=True,
            encoding_errors="surrogateescape",  # a job that is not UTF-8 reaches ReadingWorker
        )
        self._clients.append(client)
        return {"connection_pool": client.connection_pool}

    async def _refresh_counts(self, metrics: RunListener, reader: QueueReader) -> None:
        """Until closed (this runs in the start task, which `close` cancels)."""
        while True:
            for bound in self._bound:
                try:
                    counts = await reader.counts(bound.queue)
                except Exception as exc:
                    logger.bind(queue=bound.queue, error=describe_error(exc)).debug(
                        "queue counts not read"
                    )
                    continue
                metrics.queue_counts(bound.queue, counts)
            await asyncio.sleep(COUNTS_INTERVAL)

    @override
    async def close(self, timeout: float, force: asyncio.Event | None = None) -> None:
        """Active jobs finish within `timeout` (or until `force` is set: a second signal);
        what is still running then is left to bullmq's stalled recovery (a force close:
        neither failed nor completed)."""
        if self._starting is not None:
            await cancel_and_wait([self._starting], timeout=FORCE_CLOSE_WAIT)
            self._starting = None
        workers, self._workers = self._workers, []
        loops, self._loops = self._loops, []
        if not workers:
            await self._close_clients()
            return
        closing = {asyncio.ensure_future(worker.close()) for worker in workers}
        pending = await wait_for_all(closing, max(timeout, 0.01), force)
        if pending:
            active = sum(len(worker.jobs) for worker in workers)
            logger.bind(jobs=active).warning("jobs still active at the deadline: left for recovery")
            forced = [asyncio.ensure_future(w.close(force=True)) for w in workers]
            await asyncio.wait(forced, timeout=FORCE_CLOSE_WAIT)
            await cancel_and_wait([*pending, *forced], timeout=FORCE_CLOSE_WAIT)
        await cancel_and_wait(loops, timeout=FORCE_CLOSE_WAIT)
        await self._close_clients()

    async def _close_clients(self) -> None:
        clients, self._clients = self._clients, []
        for client in clients:  # the pools bullmq's clients took their connections from
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.aclose(), FORCE_CLOSE_WAIT)

    def _handler(self, bound: BoundProcessor) -> Any:
        from bullmq import UnrecoverableError

        from worker.queues.reading import Unreadable, job_of

        async def handle(job: Any, token: str) -> Any:
            info, due = job_of(job, bound.queue), _due(job)
            if isinstance(job.data, Unreadable):
                self._runs.refuse(bound, info, due, job.data.reason)
                raise UnrecoverableError(job.data.reason)
            try:
                result, _ = await self._runs.attempt(
                    bound, info, job.data, due, retry_in=lambda e: self._plan(job, info, e, bound)
                )
            except Exception as exc:
                if is_final(exc, info):  # bullmq must not retry past the attempts we allow
                    raise UnrecoverableError(str(exc)) from exc
                raise
            return result

        return handle

    def _plan(self, job: Any, info: Job, error: BaseException, bound: BoundProcessor) -> float:
        """The failed attempt's retry delay, set on the job (in memory only: bullmq reads its
        backoff when it moves the attempt to delayed)."""
        asked = error.retry_after if isinstance(error, JobError) else None
        seconds = retry_delay(
            (job.opts or {}).get("backoff"),
            info.attempt,
            fallback=bound.options.backoff_before(info.attempt),
            retry_after=asked,
            max_retry_after=self._max_retry_after,
        )
        if asked is not None and capped_retry_after(asked, self._max_retry_after) < asked:
            logger.bind(
                queue=info.queue, job=info.id, retry_after=f"{asked:.3g}s", retry_in=f"{seconds:g}s"
            ).warning("Retry-After beyond QUEUE_MAX_RETRY_AFTER: capped")
        job.opts = {
            **(job.opts or {}),
            "backoff": {"type": "fixed", "delay": round(seconds * 1000)},
        }
        return seconds


def _due(job: Any) -> datetime:
    """When the job was due: added, plus its delay (bullmq zeroes `delay` when the job leaves
    the delayed set; its options keep it). Now, when its fields say nothing sensible."""
    delay = _number((job.opts or {}).get("delay")) or _number(job.delay) or 0
    try:
        return datetime.fromtimestamp(((_number(job.timestamp) or 0) + delay) / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return datetime.now(UTC)


def _number(value: Any) -> int | None:
    """A job field's whole number of ms, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value)


def _log_error(bound: BoundProcessor) -> Any:
    def log(error: Any, *args: Any) -> None:
        detail = describe_error(error) if isinstance(error, BaseException) else str(error)
        logger.bind(queue=bound.queue, error=detail).warning("queue processor error")

    return log
