"""Fleet control: the pause state and manual fires, announced on the control channel.

Every live replica subscribes; after each (re)subscription it re-reads the pause hash, so a
replica started later, or back from a partition, knows the state without a message. A
`trigger` message makes every live replica try one claim of the manual fire: one runs it.
A `lease` message (published by the claim script) tells recovery when to look next.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

from loguru import logger

from worker.cluster.gate import ClusterGate
from worker.cluster.pause import PauseState
from worker.concurrency import cancel_and_wait
from worker.connect.errors import describe_error, is_redis_outage
from worker.connect.outage import Backoff, OutageMonitor
from worker.connect.redis import redis_deadline
from worker.lifecycle import Service, Stage
from worker.state.keys import Keys

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from worker.run.runner import Runner

REREAD_EVERY = 30.0
"""Seconds between re-reads of the pause hash, besides the announcements (one missed while
a connection was being replaced)."""


class FleetControl(Service):
    """Keeps `PauseState` current and runs the manual fires announced to the fleet (`run`
    with the scheduler role only)."""

    stage = Stage.SCHEDULING

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        pause: PauseState,
        outage: OutageMonitor,
        timeout: float,
        *,
        runner: Runner,
        gate: object = None,
        instance_id: str = "",
    ) -> None:
        self._redis = redis
        self._gate = gate if isinstance(gate, ClusterGate) else None
        self._instance_id = instance_id
        self._keys = keys
        self._pause = pause
        self._outage = outage
        self._timeout = timeout
        self._runner = runner
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._gate is not None:
            self._gate.control_starting()
        self._task = asyncio.create_task(self._loop(), name="fleet-control")

    def stop_intake(self) -> None:
        """The stop has begun: no more manual fires from the control channel."""
        if self._task is not None:
            self._task.cancel()

    async def close(self, timeout: float) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task], timeout=max(timeout, 0.01))
            self._task = None

    async def reload(self) -> None:
        """Read the whole pause hash; log each task whose state changed."""
        async with redis_deadline(self._timeout):
            raw = await self._redis.hgetall(self._keys.paused)
        entries: dict[str, float | None] = {}
        for key, value in raw.items():
            name = key.decode() if isinstance(key, bytes) else str(key)
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                until = json.loads(value).get("until")
                entries[name] = None if until is None else float(until)
        for name in self._pause.replace(entries):
            state = "paused" if name in entries else "resumed"
            logger.bind(task=name, until=entries.get(name)).info(f"task {state} fleet-wide")

    async def _loop(self) -> None:
        backoff = Backoff()
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                async with redis_deadline(self._timeout):
                    await pubsub.subscribe(self._keys.control)
                await self.reload()  # after subscribing: nothing announced in between is lost
                if self._gate is not None:  # leases announced while away: look for them now
                    self._gate.control_ready()
                    self._gate.watch.look_now()
                backoff.reset()
                await self._listen(pubsub)
            except Exception as exc:
                if is_redis_outage(exc):
                    self._outage.failure(exc)
                else:
                    logger.bind(error=describe_error(exc)).error("control channel failed")
                await asyncio.sleep(backoff.next())
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pubsub.aclose(), 1.0)  # type: ignore[no-untyped-call]

    async def _listen(self, pubsub: Any) -> None:
        loop = asyncio.get_running_loop()
        reread = loop.time() + REREAD_EVERY
        while True:
            message = await pubsub.get_message(timeout=max(reread - loop.time(), 0.01))
            if message is not None and message.get("type") == "message":
                await self._handle(message["data"])
            if loop.time() >= reread:
                await self.reload()
                reread = loop.time() + REREAD_EVERY

    async def _handle(self, data: Any) -> None:
        try:
            command = json.loads(data)
            op, task = command["op"], str(command["task"])
        except (ValueError, KeyError, TypeError):
            logger.bind(data=str(data)[:200]).warning("control message not understood")
            return
        if op in ("pause", "resume"):
            await self.reload()
        elif op == "lease":
            if self._gate is not None:
                with contextlib.suppress(KeyError, ValueError, TypeError):
                    self._gate.watch.lease_granted(float(command["ms"]) / 1000)
        elif op == "trigger":
            if self._runner.definition(task) is None:
                return
            self._runner.run_manual(task, str(command.get("token") or "") or None)
