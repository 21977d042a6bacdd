"""One delivery lane per target: its own retries, fold, outage lines and alerts.

A lane keeps at most one undelivered message: a newer fire replaces it and counts it in
`missed`, unless its send timed out (it may have landed): then the next message names it in
`maybe_delivered` instead. A target that is down delays only its own lane.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from loguru import logger

from worker.connect.errors import describe_error
from worker.connect.outage import OutageMonitor
from worker.connect.retry import OutageRetry, every_error
from worker.errors import ConfigError
from worker.targets.base import Message, PendingFire, Target

SEND_MARGIN = 1.0
"""A send gets the target's own timeout plus this, then the lane gives up on it (ambiguous)."""
OUTAGE_CLOSE = 1.0
"""At shutdown, what a lane already in outage gets (one that is up: the rest of the deadline)."""


class DeliveryLane:
    """Delivers the newest accepted fire to one target, retrying with jittered backoff."""

    def __init__(
        self,
        target: Target,
        *,
        send_timeout: float,
        log_interval: float,
        on_change: Callable[[bool], None],
        on_result: Callable[[str, str], None],
        alert_after: int,
        alert: Callable[[str, str, int, str | None], None],
    ) -> None:
        self.target = target
        self.name = target.name
        self._send_timeout = send_timeout + SEND_MARGIN
        self._retry = OutageRetry(
            OutageMonitor(target.name, log_interval=log_interval), is_outage=every_error
        )
        self._on_change, self._on_result = on_change, on_result
        self._alert_after, self._alert = alert_after, alert
        self._next: PendingFire | None = None
        self._inflight: PendingFire | None = None
        self._maybe: str | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self._suspect = self._alerting = False
        self._connected = False
        self.last_delivered: str | None = None
        self.delivered_at: float | None = None

    @property
    def failing(self) -> bool:
        return self._retry.outage.down

    @property
    def answering(self) -> bool:
        """The target has answered (its first connection succeeded) and is not in outage: a
        run may wait a moment for its delivery. Before its first answer, none waits for it."""
        return self._connected and not self.failing

    async def open(self) -> None:
        """Start delivering. A target that is vetted at start (`prepare_at_start`) is prepared
        first: its refusal (a ConfigError) goes up and ends the start-up; no answer leaves it
        to this lane's retries, in outage."""
        if self._task is not None:
            return
        prepared = await self._prepare(at_start=True) if self.target.prepare_at_start else None
        self.start(prepared)

    def start(self, prepared: bool | None = None) -> None:
        """`prepared`: the first prepare's outcome, None when it has not been tried."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(prepared), name=f"lane:{self.name}")

    def accept(self, message: Message) -> asyncio.Future[bool]:
        """Take a fire (never blocks); the future says whether it (or a newer fire that folded
        it) was delivered: True, or False when the lane closed first."""
        item = PendingFire(message, [asyncio.get_running_loop().create_future()])
        if self._next is not None:
            self._fold(self._next, into=item)
        self._next = item
        self._idle.clear()
        self._wake.set()
        self.start()
        self._changed(self.failing)
        return item.waiters[0]

    def snapshot(self) -> dict[str, Any]:
        """This lane as `status` shows it (times in epoch seconds)."""
        pending = self._next or self._inflight
        return {
            "target": self.name,
            "last_delivered": self.last_delivered,
            "delivered_at": self.delivered_at,
            "pending": pending.message.fire_id if pending else None,
            "pending_missed": pending.payload(None).get("missed", 0) if pending else 0,
            "maybe_delivered": self._maybe,
            "failing_since": self._retry.outage.down_since,
        }

    async def close(self, timeout: float) -> None:
        """Go on delivering for up to `timeout` (OUTAGE_CLOSE when in outage); then log what
        is still pending, with its fire (a forced stop that cancels the wait logs it too)."""
        if self._task is None:
            return
        timeout = min(timeout, OUTAGE_CLOSE) if self.failing else timeout
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), max(timeout, 0.01))
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        finally:
            self._task.cancel()
            self._log_pending()

    def _log_pending(self) -> None:
        if self._inflight is not None and self._next is not None:
            self._requeue(self._inflight)  # the newer fire is the one to name
        left = self._next or self._inflight
        if left is not None:
            self._on_result(self.name, "dropped")
            payload = left.payload(self._maybe)
            logger.bind(target=self.name, fire=left.message.fire_id, payload=payload).error(
                "trigger not delivered before shutdown"
            )
            left.resolve(False)
        self._inflight = self._next = None

    async def _run(self, first: bool | None) -> None:
        if first is False:  # failed at open: the next try comes after a delay
            await self._retry.wait()
        prepared = bool(first)
        while True:
            if self._next is None:
                self._idle.set()
            if not prepared:
                prepared = await self._prepare()
                await (asyncio.sleep(0) if prepared else self._retry.wait())
                continue
            if self._next is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            item, self._next = self._next, None
            self._inflight = item
            was_failing = self.failing
            result = await self._attempt(item) if await self._reachable(item) else "refused"
            self._inflight = None
            if result == "delivered":
                self._changed(was_failing)  # a recovery is news; one more delivery is not
                continue
            prepared = result != "refused-prepare"
            self._requeue(item)
            self._changed(True)
            await self._retry.wait()

    async def _prepare(self, *, at_start: bool = False) -> bool:
        try:
            async with asyncio.timeout(self._send_timeout):
                await self.target.prepare()
        except Exception as exc:
            if at_start and isinstance(exc, ConfigError):
                raise
            self._failed(exc, None)
            return False
        self._connected = True
        if self._failures and self._next is None:  # recovered; delays go on until a delivery
            self._retry.outage.success()
            self._failures = 0
        return True

    async def _reachable(self, item: PendingFire) -> bool:
        """After a failure, the target must answer a probe before a message goes out again:
        a send into a server that stopped answering would be one more lost reply (ambiguous),
        where a failed probe leaves the fire cleanly undelivered (counted in `missed`)."""
        if not self._suspect:
            return True
        try:
            if (why := self.target.down()) is not None:
                raise ConnectionError(f"{self.name}: {why}")
            async with asyncio.timeout(self._send_timeout):
                await self.target.probe()
        except Exception as exc:
            self._failed(exc, None)
            return False
        self._suspect = False
        self._connected = True
        return True

    async def _attempt(self, item: PendingFire) -> str:
        message = item.outgoing(self._maybe)
        if self._failures or item.catchup:
            # A catch-up: this lane held the fire through a failure, or the run stood for
            # fires an outage kept from running. Never on the normal path.
            await self.target.before_catchup()
        started = time.monotonic()
        try:
            if (why := self.target.down()) is not None:
                raise ConnectionError(f"{self.name}: {why}")
            async with asyncio.timeout(self._send_timeout):
                await self.target.send(message)
        except Exception as exc:
            ambiguous = isinstance(exc, TimeoutError) or self.target.ambiguous(exc)
            self._failed(exc, item, ambiguous=ambiguous)
            if ambiguous:
                return "timeout"
            return "refused-prepare" if getattr(exc, "prepare_again", False) else "refused"
        self._delivered(item, message, time.monotonic() - started)
        return "delivered"

    def _delivered(self, item: PendingFire, message: Message, took: float) -> None:
        self._retry.succeeded()
        self._connected = True
        self.last_delivered, self.delivered_at = message.fire_id, time.time()
        if "maybe_delivered" in message.payload or self._maybe == message.fire_id:
            self._maybe = None
        self._on_result(self.name, "delivered")
        if self._failures:
            logger.bind(target=self.name, fire=message.fire_id, attempts=self._failures + 1).info(
                "trigger delivered after retries"
            )
        self._failures = 0
        if self._alerting:
            self._alerting = False
            self._alert(self.name, "recovered", self._alert_after, None)
        item.resolve(True)

    def _failed(
        self, exc: BaseException, item: PendingFire | None, *, ambiguous: bool = False
    ) -> None:
        self._retry.failed(exc)
        self._suspect = True
        self._failures += 1
        if item is not None:
            self._on_result(self.name, "timeout" if ambiguous else "failed")
            item.maybe = item.maybe or ambiguous
            logger.bind(target=self.name, fire=item.message.fire_id, attempt=self._failures).debug(
                "trigger send failed error={!r}", describe_error(exc)
            )
        if self._alert_after and self._failures == self._alert_after:
            self._alerting = True
            self._alert(self.name, "failing", self._failures, describe_error(exc))

    def _requeue(self, item: PendingFire) -> None:
        """A failed message goes back, unless a newer fire came meanwhile: then it folds."""
        if self._next is None:
            self._next = item
        else:
            self._fold(item, into=self._next)

    def _fold(self, older: PendingFire, *, into: PendingFire) -> None:
        into.waiters.extend(older.waiters)
        older.waiters.clear()
        into.catchup = into.catchup or older.catchup  # its catch-up was never sent
        if older.message.fire_id == into.message.fire_id:
            into.folded, into.maybe = older.folded, older.maybe or into.maybe
            return
        if older.maybe:
            self._maybe = older.message.fire_id  # it may have landed: named, not counted
        else:
            missed = int(older.message.payload.get("missed", 0) or 0)
            into.folded += 1 + missed + older.folded
            self._on_result(self.name, "folded")

    def _changed(self, news: bool) -> None:
        self._on_change(news)
