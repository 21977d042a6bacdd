"""Alerts: after N consecutive failures (or missed fires) of a task, when a run is stuck,
and again when the task recovers.

Events go to a Redis channel and, when configured, to a webhook as Slack-compatible JSON
(`text` field). Sending happens in the background; a failing target is logged, no more.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loguru import logger
from typing_extensions import override

from worker.concurrency import cancel_and_wait
from worker.connect.errors import describe_error
from worker.connect.redis import redis_deadline
from worker.lifecycle import Service
from worker.observe.clock import ClockCheck
from worker.protocol import format_instant
from worker.run.records import FAILURES, RunListener, RunRecord, StuckRun

if TYPE_CHECKING:
    from redis.asyncio import Redis

WEBHOOK_TIMEOUT = 5.0
ALERTS_MAXLEN = 1000
"""The alerts stream keeps about this many events (the dashboard reads it)."""


class Alerts(RunListener, Service):
    """A run-result listener; `after=0` turns alerts off."""

    def __init__(
        self,
        redis: Redis,
        *,
        channel: str,
        after: int,
        webhook_url: str | None,
        instance_id: str,
        redis_timeout: float,
        stream: str | None = None,
        clock: ClockCheck | None = None,
    ) -> None:
        self._redis = redis
        self._stream = stream
        self._channel = channel
        self._after = after
        self._webhook_url = webhook_url
        self._instance_id = instance_id
        self._redis_timeout = redis_timeout
        self._alerting: set[str] = set()
        self._missed: dict[str, int] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self._clock_alerting = False
        if clock is not None:
            clock.watch(self.on_clock)

    @override
    def on_run(self, record: RunRecord) -> None:
        if self._after <= 0:
            return
        task = record.task
        if record.outcome == "missed":
            self._missed[task] = self._missed.get(task, 0) + 1
            if self._missed[task] == self._after:
                self._alerting.add(task)
                self._emit("missing", record, self._after)
        elif record.outcome == "abandoned":  # at once: the fleet gave up on a fire
            self._alerting.add(task)
            self._emit("abandoned", record, record.consecutive_failures)
        elif record.outcome in FAILURES and record.consecutive_failures == self._after:
            self._alerting.add(task)
            self._emit("failing", record, record.consecutive_failures)
        elif record.outcome == "ok":
            self._missed.pop(task, None)
            if task in self._alerting:
                self._alerting.discard(task)
                self._emit("recovered", record, self._after)

    @override
    def on_stuck(self, stuck: StuckRun) -> None:
        if self._after <= 0:
            return
        self._alerting.add(stuck.task)
        since = format_instant(stuck.running_since, precise=True)
        text = (
            f":hourglass: task {stuck.task} has been running since {since} "
            f"({stuck.limit_s:g}s) on {self._instance_id}"
        )
        self._send_event(
            self._event("stuck", stuck.task, 0, f"running since {since}", text), stuck.task
        )

    @override
    def on_target(self, target: str, state: str, failures: int, error: str | None) -> None:
        """A trigger target's lane failed ALERT_AFTER_FAILURES sends in a row, or recovered."""
        if self._after <= 0:
            return
        texts = {
            "failing": f":rotating_light: trigger target {target} failed {failures} sends in a "
            f"row on {self._instance_id}: {error}",
            "recovered": f":white_check_mark: trigger target {target} recovered on "
            f"{self._instance_id}",
        }
        event = self._event(state, f"target:{target}", failures, error, texts[state])
        event["target"] = target
        self._send_event(event, f"target:{target}")

    def on_clock(self, clock: ClockCheck) -> None:
        """This replica's clock went too far ahead of Redis to claim any fire (`skewed`), or
        came back (`recovered`)."""
        if self._after <= 0 or clock.blocked == self._clock_alerting:
            return
        self._clock_alerting = clock.blocked
        offset = f"{clock.offset or 0.0:+.3f}s"
        if clock.blocked:
            state, text = (
                "skewed",
                (
                    f":alarm_clock: clock of {self._instance_id} is {offset} off Redis's, more "
                    f"than CLAIM_SKEW ({clock.skew:g}s) ahead: it can claim no cluster fire"
                ),
            )
        else:
            state = "recovered"
            text = f":white_check_mark: clock of {self._instance_id} back in step ({offset})"
        event = self._event(state, "clock", 0, None, text)
        event["clock_offset_s"] = None if clock.offset is None else round(clock.offset, 3)
        self._send_event(event, "clock")

    @override
    async def close(self, timeout: float) -> None:
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=max(timeout, 0.01))
        await cancel_and_wait(set(self._sending), timeout=0.5)

    def _emit(self, state: str, record: RunRecord, count: int) -> None:
        where = f"on {self._instance_id}"
        texts = {
            "failing": f":rotating_light: task {record.task} failed {count} times in a row "
            f"{where}: {record.error}",
            "missing": f":warning: task {record.task} missed {count} fires in a row {where}",
            "abandoned": f":rotating_light: task {record.task} fire {record.fire_id} abandoned "
            f"{where}: {record.error}",
            "recovered": f":white_check_mark: task {record.task} recovered {where}",
        }
        event = self._event(state, record.task, count, record.error, texts[state])
        self._send_event(event, record.task)

    def _send_event(self, event: dict[str, Any], task_name: str) -> None:
        logger.bind(task=task_name, alert=event["state"], failures=event["failures"]).warning(
            "alert"
        )
        task = asyncio.create_task(self._send(event), name=f"alert:{task_name}")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    def _event(
        self, state: str, task: str, count: int, error: str | None, text: str
    ) -> dict[str, Any]:
        return {
            "event": "TASK_ALERT",
            "state": state,
            "task": task,
            "failures": count,
            "last_error": error,
            "instance": self._instance_id,
            "time": format_instant(datetime.now(UTC), precise=True),
            "text": text,
        }

    async def _send(self, event: dict[str, Any]) -> None:
        if self._stream:
            await self._append(event)
        try:
            async with redis_deadline(self._redis_timeout):
                await self._redis.publish(self._channel, json.dumps(event))
        except Exception as exc:
            logger.bind(task=event["task"], error=describe_error(exc)).warning(
                "alert not published"
            )
        if self._webhook_url:
            await self._post(event)

    async def _append(self, event: dict[str, Any]) -> None:
        """The event on the capped alerts stream: `data` = the JSON, plus its task and state."""
        fields: dict[Any, Any] = {
            "task": str(event["task"]),
            "state": str(event["state"]),
            "data": json.dumps(event),
        }
        try:
            async with redis_deadline(self._redis_timeout):
                await self._redis.xadd(
                    self._stream or "", fields, maxlen=ALERTS_MAXLEN, approximate=True
                )
        except Exception as exc:
            logger.bind(task=event["task"], error=describe_error(exc)).warning("alert not stored")

    async def _post(self, event: dict[str, Any]) -> None:
        try:
            import httpx  # only when a webhook is configured

            async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT) as client:
                response = await client.post(self._webhook_url or "", json=event)
                response.raise_for_status()
        except Exception as exc:
            logger.bind(task=event["task"], error=describe_error(exc)).warning(
                "alert webhook failed"
            )
