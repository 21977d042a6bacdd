"""Failure alerts: after N consecutive failures of a task, and again when it recovers.

Events go to a Redis channel and, when configured, to a webhook as Slack-compatible JSON
(`text` field). Sending happens in the background; a failing target is logged, no more.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loguru import logger

from worker.clients import command_deadline
from worker.fire import format_instant
from worker.lifecycle import cancel_and_wait
from worker.outage import describe_error
from worker.runner import FAILURES, RunRecord

if TYPE_CHECKING:
    from redis.asyncio import Redis

WEBHOOK_TIMEOUT = 5.0


class Alerts:
    """A run-result listener; `after=0` turns alerts off."""

    def __init__(
        self,
        redis: Redis,
        *,
        channel: str,
        after: int,
        webhook_url: str | None,
        instance_id: str,
    ) -> None:
        self._redis = redis
        self._channel = channel
        self._after = after
        self._webhook_url = webhook_url
        self._instance_id = instance_id
        self._alerting: set[str] = set()
        self._sending: set[asyncio.Task[None]] = set()

    def task_result(self, record: RunRecord) -> None:
        if self._after <= 0:
            return
        if record.outcome in FAILURES and record.consecutive_failures == self._after:
            self._alerting.add(record.task)
            self._emit("failing", record)
        elif record.outcome == "ok" and record.task in self._alerting:
            self._alerting.discard(record.task)
            self._emit("recovered", record)

    async def close(self, timeout: float) -> None:
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=max(timeout, 0.01))
        await cancel_and_wait(set(self._sending), timeout=0.5)

    def _emit(self, state: str, record: RunRecord) -> None:
        event = self._event(state, record)
        logger.bind(task=record.task, alert=state, failures=event["failures"]).warning("alert")
        task = asyncio.create_task(self._send(event), name=f"alert:{record.task}")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    def _event(self, state: str, record: RunRecord) -> dict[str, Any]:
        failures = self._after if state == "recovered" else record.consecutive_failures
        if state == "failing":
            text = (
                f":rotating_light: task {record.task} failed {failures} times in a row "
                f"on {self._instance_id}: {record.error}"
            )
        else:
            text = f":white_check_mark: task {record.task} recovered on {self._instance_id}"
        return {
            "event": "TASK_ALERT",
            "state": state,
            "task": record.task,
            "failures": failures,
            "last_error": record.error,
            "instance": self._instance_id,
            "time": format_instant(datetime.now(UTC), precise=True),
            "text": text,
        }

    async def _send(self, event: dict[str, Any]) -> None:
        try:
            async with command_deadline():
                await self._redis.publish(self._channel, json.dumps(event))
        except Exception as exc:
            logger.bind(task=event["task"], error=describe_error(exc)).warning(
                "alert not published"
            )
        if self._webhook_url:
            await self._post(event)

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
