"""Fleet control: the pause state and manual fires, announced on the control channel.

Every live replica subscribes; after each (re)subscription it re-reads the pause hash, so a
replica started later, or back from a partition, knows the state without a message. A
`trigger` message makes every live replica try one claim of the manual fire: one runs it.
A `lease` message (published by the claim script) tells recovery when to look next.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from loguru import logger
from typing_extensions import override

from worker.cluster.gate import ClusterGate
from worker.cluster.pause import PauseState
from worker.cluster.watch import LeaseWatch
from worker.concurrency import cancel_and_wait
from worker.connect.errors import describe_error
from worker.connect.outage import OutageMonitor
from worker.connect.redis import redis_deadline
from worker.connect.retry import OutageRetry
from worker.lifecycle import Service, Stage
from worker.protocol import LeaseGranted, Trigger, decode_control
from worker.state.fleet import pause_entries
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
        watch: LeaseWatch | None = None,
    ) -> None:
        self._redis = redis
        self._gate = gate if isinstance(gate, ClusterGate) else None
        self._watch = watch
        self._keys = keys
        self._pause = pause
        self._outage = outage
        self._timeout = timeout
        self._runner = runner
        self._task: asyncio.Task[None] | None = None

    @override
    async def start(self) -> None:
        if self._gate is not None:
            self._gate.control_starting()
        self._task = asyncio.create_task(self._loop(), name="fleet-control")

    @override
    def stop_intake(self) -> None:
        """The stop has begun: no more manual fires from the control channel."""
        if self._task is not None:
            self._task.cancel()

    @override
    async def close(self, timeout: float) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task], timeout=max(timeout, 0.01))
            self._task = None

    async def reload(self) -> None:
        """Read the whole pause hash; log each task whose state changed."""
        async with redis_deadline(self._timeout):
            raw = await self._redis.hgetall(self._keys.paused)
        entries = pause_entries(raw)  # a field that holds no entry is no pause
        for name in self._pause.replace(entries):
            entry = entries.get(name)
            until = None if entry is None else entry.until_text
            log = logger.bind(task=name, **({"until": until} if until else {}))
            log.info(f"task {'paused' if entry else 'resumed'} fleet-wide")

    async def _loop(self) -> None:
        retry = OutageRetry(self._outage)
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                async with redis_deadline(self._timeout):
                    await pubsub.subscribe(self._keys.control)
                await self.reload()  # after subscribing: nothing announced in between is lost
                if self._gate is not None:
                    self._gate.control_ready()
                if self._watch is not None:  # leases announced while away: look for them now
                    self._watch.look_now()
                retry.backoff.reset()
                await self._listen(pubsub)
            except Exception as exc:
                if not retry.failed(exc):
                    logger.bind(error=describe_error(exc)).error("control channel failed")
                await retry.wait()
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
            message = decode_control(data)
        except ValueError:
            logger.bind(data=str(data)[:200]).warning("control message not understood")
            return
        if isinstance(message, LeaseGranted):
            if self._watch is not None:
                self._watch.lease_granted(message.ms / 1000)
        elif isinstance(message, Trigger):
            if self._runner.definition(message.task) is not None:
                self._runner.run_manual(message.task, message.token)
        elif message is not None:  # pause, resume: the hash holds the state
            await self.reload()
