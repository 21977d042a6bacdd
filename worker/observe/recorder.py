"""The run recorder: a run listener whose bounded queue keeps Redis off the runs' path.

One background writer drains the queue into the run history (`worker.state.history`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from loguru import logger
from typing_extensions import override

from worker.concurrency import cancel_and_wait
from worker.connect.outage import OutageMonitor
from worker.connect.retry import OutageRetry
from worker.lifecycle import Service
from worker.run.records import RunListener, RunRecord, StuckRun
from worker.state.history import RunHistory

BATCH = 500
OUTAGE_FLUSH_WAIT = 1.0
WRITER_STOP_WAIT = 1.0
"""At most this long for the writer to take its cancellation at shutdown."""
WRITE_INTERVAL = 5.0
"""At most one write per interval: a lone record goes out at once, a steady stream in batches."""


class RunRecorder(RunListener, Service):
    """Queues records in memory and writes them in the background; a run never waits on Redis.

    During an outage the queue keeps the newest `capacity` records and counts the dropped ones.
    """

    def __init__(self, history: RunHistory, outage: OutageMonitor, capacity: int = 10_000) -> None:
        self._history = history
        self._outage = outage
        self._capacity = capacity
        self._queue: deque[RunRecord] = deque()
        self._batch: list[RunRecord] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = asyncio.Event()
        self._last_write = -WRITE_INTERVAL
        self._writer: asyncio.Task[None] | None = None
        self.dropped = 0

    @override
    def on_stuck(self, stuck: StuckRun) -> None:
        """A stuck run is recorded when it ends; the instance record shows it meanwhile."""

    @override
    def on_run(self, record: RunRecord) -> None:
        if len(self._queue) >= self._capacity:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(record)
        self._idle.clear()
        self._wake.set()

    @override
    async def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name="run-recorder")

    @override
    async def close(self, timeout: float) -> None:
        """Flush what is queued within `timeout` (one retry's worth while Redis is down)."""
        if self._writer is None:
            return
        if self._outage.down:
            timeout = min(timeout, OUTAGE_FLUSH_WAIT)
        self._closing.set()
        try:
            if not self._idle.is_set():
                await asyncio.wait_for(self._idle.wait(), timeout=max(timeout, 0))
        except TimeoutError:
            unwritten = len(self._queue) + len(self._batch)
            logger.bind(records=unwritten).warning("run records not written at shutdown")
        await cancel_and_wait([self._writer], timeout=min(WRITER_STOP_WAIT, max(timeout, 0.01)))
        self._writer = None
        if self.dropped:
            logger.bind(records=self.dropped, capacity=self._capacity).warning(
                "run records dropped: the queue was full (oldest first)"
            )

    async def _write_loop(self) -> None:
        retry = OutageRetry(self._outage)
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            pause = self._last_write + WRITE_INTERVAL - loop.time()
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await self._closing.wait()
            self._last_write = loop.time()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
                self._batch = batch
                await self._append(batch, retry)
                self._batch = []
            self._idle.set()

    async def _append(self, batch: list[RunRecord], retry: OutageRetry) -> None:
        """Written, retried through an outage; any other error loses the batch (logged)."""
        try:
            await retry.call(lambda: self._history.append(batch))
        except Exception as exc:
            retry.backoff.reset()
            logger.opt(exception=exc).bind(records=len(batch)).error("run records lost")
