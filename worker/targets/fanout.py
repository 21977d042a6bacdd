"""The fan-out: a publish hands the fire to every target's delivery lane.

`publish` returns once every lane has accepted the fire; it waits a moment (at most
DELIVERY_WAIT) only for lanes whose target answers, so the run's record can say which targets
delivered within the run and which are pending. A target that is down, or has never answered
yet (its first connection still under way), delays nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from loguru import logger
from typing_extensions import override

from worker.concurrency import cancel_and_wait
from worker.connect.errors import describe_error
from worker.lifecycle import Service, Stage
from worker.run.fire import Fire, current_fire
from worker.state.targets import TargetLanes
from worker.targets.base import Message
from worker.targets.lane import DeliveryLane

DELIVERY_WAIT = 0.25
"""How long a publish waits for targets that are up to confirm, for the run's record."""
STATE_INTERVAL = 60.0
"""Lane state goes to Redis at once when a lane fails, recovers or holds a fire back; a plain
delivery only refreshes `last_delivered` at most once per interval (a write per fire would
cost a trigger every second more CPU than its own publish)."""
STATE_DEBOUNCE = 0.2


class TriggerFanout(Service):
    """A `TriggerPublisher` over one `DeliveryLane` per configured target.

    Only where tasks run: a processor-only replica has no lanes, no NATS, no stream."""

    stage = Stage.TASKS

    def __init__(
        self,
        *,
        state: TargetLanes,
        instance_id: str,
        lanes: Sequence[DeliveryLane] = (),
    ) -> None:
        self.lanes = tuple(lanes)
        self._state = state
        self._instance_id = instance_id
        self._dirty = asyncio.Event()
        self._news = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    @override
    async def start(self) -> None:
        """Lanes prepare their targets now (e.g. the JetStream stream), not at the first fire.
        A NATS target is prepared before this returns: its refusal ends the start-up (78)."""
        opening = [asyncio.ensure_future(lane.open()) for lane in self.lanes]
        try:
            await asyncio.gather(*opening)
        except BaseException:
            await cancel_and_wait(opening, 1.0)
            raise
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_state(), name="lanes:state")

    async def publish(self, payload: Mapping[str, Any]) -> None:
        fire = _running_fire()
        while True:
            outcome = await self._hand_over(payload)
            if fire is None:
                return
            fire.targets.update(outcome)
            # A newer fire folded into this run while it waited: it gets its message too.
            if fire.id == payload.get("id"):
                return
            payload = _moved(payload, fire)

    async def _hand_over(self, payload: Mapping[str, Any]) -> dict[str, str]:
        message = Message(str(payload["id"]), _scheduled_ms(payload), payload)
        accepted = {lane.name: (lane, lane.accept(message)) for lane in self.lanes}
        waits = [future for lane, future in accepted.values() if lane.answering]
        if waits:
            await asyncio.wait(waits, timeout=DELIVERY_WAIT)
        return {
            name: "delivered" if future.done() and future.result() else "pending"
            for name, (_, future) in accepted.items()
        }

    def report(self, news: bool) -> None:
        """A lane changed: the lanes' state goes to Redis in the background, newest only;
        `news` (a failure, a recovery, a fire held back) is written without waiting."""
        self._dirty.set()
        if news:
            self._news.set()

    @override
    async def close(self, timeout: float) -> None:
        """Every lane gets `timeout` to deliver what it holds, then logs what is left."""
        await asyncio.gather(*(lane.close(timeout) for lane in self.lanes))
        if self._writer is not None:
            await cancel_and_wait([self._writer], 0.5)
            self._writer = None
        if self.lanes:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(max(min(timeout, 1.0), 0.1)):
                    await self._state.write(self._instance_id, self._snapshots())

    def _snapshots(self) -> list[dict[str, Any]]:
        return [lane.snapshot() for lane in self.lanes]

    async def _write_state(self) -> None:
        try:
            await self._state.retire(self._instance_id, [lane.name for lane in self.lanes])
        except Exception as exc:  # the next start tries again
            logger.bind(error=describe_error(exc)).debug("dead replicas' lanes not retired")
        while True:
            await self._dirty.wait()
            await asyncio.sleep(STATE_DEBOUNCE)  # a fire's accept and delivery: one write
            self._dirty.clear()
            self._news.clear()
            try:
                await self._state.write(self._instance_id, self._snapshots())
            except Exception as exc:
                logger.bind(error=describe_error(exc)).debug("lane state not written")
                self._dirty.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._news.wait(), STATE_INTERVAL)


def _running_fire() -> Fire | None:
    try:
        return current_fire()
    except RuntimeError:  # a publish outside a run: nothing folds into it, no record
        return None


def _moved(sent: Mapping[str, Any], fire: Fire) -> dict[str, Any]:
    """The payload for the fire a run moved to: fires folded since `sent` minus `sent` itself."""
    payload = {**sent, "scheduled_for": fire.stamp, "id": fire.id}
    fire.missed -= int(sent.get("missed", 0) or 0) + 1
    payload.pop("missed", None)
    if fire.missed > 0:
        payload["missed"] = fire.missed
    return payload


def _scheduled_ms(payload: Mapping[str, Any]) -> int:
    """The fire's scheduled instant in ms (from `scheduled_for`, ISO 8601 UTC)."""
    text = str(payload.get("scheduled_for") or "")
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return int(datetime.now().timestamp() * 1000)
