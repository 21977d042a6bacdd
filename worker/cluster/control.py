"""Fleet control: the pause state and manual fires, announced on the control channel.

Every live replica subscribes; after each (re)subscription it re-reads the pause hash, so a
replica started later, or back from a partition, knows the state without a message. A
`trigger` message makes every live replica try one claim of the manual fire: one runs it.
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
from worker.state.keys import Keys

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from worker.run.runner import Runner

REREAD_EVERY = 30.0
"""Seconds between re-reads of the pause hash and the replica count, besides the
announcements (one missed while a connection was being replaced)."""


class FleetControl:
    """Keeps `PauseState` current and runs the manual fires announced to the fleet."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        pause: PauseState,
        outage: OutageMonitor,
        timeout: float,
        *,
        gate: Any = None,
        instance_id: str = "",
    ) -> None:
        self._redis = redis
        self._gate = gate if isinstance(gate, ClusterGate) else None
        self._instance_id = instance_id
        self._keys = keys
        self._pause = pause
        self._outage = outage
        self._timeout = timeout
        self._runner: Runner | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, runner: Runner) -> None:
        self._runner = runner
        if self._gate is not None:
            self._gate.announcing()
        self._task = asyncio.create_task(self._loop(), name="fleet-control")

    def stop_intake(self) -> None:
        """The stop has begun: no more manual fires from the control channel."""
        if self._task is not None:
            self._task.cancel()

    async def close(self, timeout: float) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task], timeout=max(timeout, 0.01))
            self._task = None

    async def _hello(self) -> None:
        """Say this replica is here (the others start claiming), then see if it is alone."""
        if self._gate is not None:
            self._gate.announced()
        async with redis_deadline(self._timeout):
            await self._redis.publish(
                self._keys.control, json.dumps({"op": "hello", "task": "", "id": self._instance_id})
            )
        await self._count_replicas()

    async def _count_replicas(self) -> None:
        """Alone when this replica is the control channel's only subscriber."""
        if self._gate is None:
            return
        async with redis_deadline(self._timeout):
            found = await self._redis.pubsub_numsub(self._keys.control)
        subscribers = int(found[0][1]) if found else 0
        if subscribers <= 1:
            self._gate.solo.leave()
        else:
            await self._gate.solo.join()

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
                await self._hello()
                backoff.reset()
                await self._listen(pubsub)
            except Exception as exc:
                if self._gate is not None:  # unheard while away: claim again when back
                    await self._gate.solo.join()
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
                await self._count_replicas()
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
        elif op == "hello" and command.get("id") != self._instance_id:
            if self._gate is not None:
                await self._gate.solo.join()
        elif op == "trigger" and self._runner is not None:
            if self._runner.definition(task) is None:
                return
            self._runner.run_manual(task, str(command.get("token") or "") or None)
