"""`ClusterGate`: the `FireGate` of a fleet. A cluster fire runs where its claim wins.

Claims arriving in one loop tick go to Redis as one script call (1,000 tasks due at one
instant: a handful of round trips, not 1,000). While Redis is unreachable the claim is
retried and newer fires fold into the waiting run, so after an outage the replicas race
for the newest fire and one sends it, with the fleet-wide `missed`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from loguru import logger
from typing_extensions import override

from worker.cluster.claims import ClaimStore
from worker.cluster.leases import Leases
from worker.cluster.pause import PauseState
from worker.cluster.replies import ClaimReply, ClaimRequest
from worker.connect.outage import OutageMonitor
from worker.connect.retry import OutageRetry
from worker.lifecycle import Service, Stage
from worker.protocol import ClaimResult, TakenOver
from worker.run.fire import Fire
from worker.run.gate import ADMITTED, Admission
from worker.run.records import RunListener
from worker.schedule.definitions import TaskDefinition
from worker.schedule.shared import NextFires

if TYPE_CHECKING:
    from worker.run.records import RunRecord

BATCH = 2000
"""Claims per script call at most (a call's arguments stay a few hundred KB)."""

UNACKED_WAIT_MS = 20
"""WAIT while no replica acknowledges: enough for one that is back, short for the runs."""

_Pending = tuple[ClaimRequest, "asyncio.Future[ClaimReply]"]


class ClusterGate(Service):
    """Claims cluster fires (and every manual fire) for this replica; admits the rest.

    Started only by `run` with the scheduler role; closed by every command (it ends the
    leases it holds, a manual run's too)."""

    stage = Stage.SCHEDULING
    waits_out_outages = True

    def __init__(
        self,
        store: ClaimStore,
        *,
        outage: OutageMonitor,
        pause: PauseState,
        lease: float,
        replicated: object = False,
        wait_timeout: float = 5.0,
        metrics: RunListener | None = None,
        misfire_grace: float = 60.0,
        next_fires: NextFires | None = None,
        loop_stalls: Callable[[str, float], float] | None = None,
    ) -> None:
        self._store = store
        self._outage = outage
        self._pause = pause
        self._leases = Leases(store, lease, loop_stalls)
        self._lease = lease
        self._replicated = bool(replicated)  # REDIS_SENTINELS set: WAIT for a replica
        self._wait_ms = max(int(wait_timeout * 1000) - 250, 100)
        self._metrics = metrics if metrics is not None else RunListener()
        self._grace = misfire_grace
        self._queue: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self._unacked = False
        self._next_fires = next_fires or NextFires()
        self._control_ready: asyncio.Event | None = None

    async def admit(self, task: TaskDefinition, fire: Fire) -> Admission:
        if task.scope != "cluster" and fire.manual is None:  # every replica runs it: no claim
            if self._pause.paused(task.name):  # a fleet-wide pause holds instance fires too
                return self._held(task.name)
            return ADMITTED
        if fire.takeover is not None:  # a recovered fire: this replica took its lease over
            return self._admission(ClaimRequest.taken(fire.takeover), task, fire)
        if self._control_ready is not None:  # the pause state is read before a first claim
            await self._control_ready.wait()
        await self._leases.settled(task.name)  # this replica's last end of it reached Redis

        loop = asyncio.get_running_loop()
        sent = 0.0

        async def claim() -> tuple[ClaimRequest, ClaimReply]:
            nonlocal sent
            # Anew each try: newer fires fold in meanwhile, a lease's end may have gone out.
            request = _request(task, fire, held=self._leases.holds(task.name))
            sent = loop.time()
            return request, await self._claim(request)

        request, reply = await OutageRetry(self._outage).call(claim)
        if reply.status == ClaimResult.BUSY and request.ahead_ms > 0:
            # Refused ahead of its instant for a run still going: that run may end before
            # the instant, so the fire is claimed once more then (as without the lead).
            ahead = fire.scheduled_for.timestamp() - time.time()
            if ahead > 0:
                await asyncio.sleep(ahead)
            refused = reply
            request, reply = await OutageRetry(self._outage).call(claim)
            if reply.status == ClaimResult.BUSY and refused.record:  # it is the recorder
                reply = replace(reply, record=True)
        if reply.status == ClaimResult.WON and loop.time() - sent > self._lease / 3:
            reply = await self._still_won(request, reply)
        self._count(task.name, reply.status)
        if reply.status == ClaimResult.BUSY and reply.record:  # recorded here, once fleet-wide
            return Admission(
                run=False, reason=f"overlap: previous fire still runs on {reply.owner}"
            )
        if reply.status != ClaimResult.WON:
            logger.bind(task=task.name, fire=request.fire_id, claim=reply.status).debug(
                "fire not claimed"
            )
            return Admission(run=False)
        if fire.manual is None and reply.previous_mark:
            since = self._since(reply, fire)
            # Up to the fire as it is now: a newer one may have folded in during the round trip.
            newest = round(fire.scheduled_for.timestamp() * 1000)
            fire.missed = self._next_fires.instants_between(task, since, newest)
        if reply.abandoned:  # a fire that never ran to its end: `missed` counts it
            logger.bind(task=task.name, fire=fire.id, abandoned=reply.abandoned).warning(
                "fire of a dead claimer (or a claim whose reply was lost) folded into this one "
                "(counted in missed)"
            )
        if fire.manual is None and self._pause.paused(task.name):
            self._leases.end(request, "skipped", None)
            return self._held(task.name)
        return self._admission(request, task, fire, reply.failures)

    async def _still_won(self, request: ClaimRequest, reply: ClaimReply) -> ClaimReply:
        """A claim answered late (this replica stalled, a slow WAIT): its lease may have run
        out and the fire gone to another replica meanwhile. Renewed, it is still this one's;
        else it is not run here (the other replica has it, or counts it in `missed`)."""

        loop = asyncio.get_running_loop()
        sent = 0.0

        async def renew() -> list[bool]:
            nonlocal sent
            sent = loop.time()
            return await self._store.renew([(request.task, request.fire_id)])

        # Until a renewal is answered in good time (a stall again meanwhile: once more).
        while (kept := (await OutageRetry(self._outage).call(renew))[0]) and (
            loop.time() - sent > self._lease / 3
        ):
            pass
        if kept:
            return reply
        logger.bind(task=request.task, fire=request.fire_id).info(
            "claim answered too late: the fire is another replica's now, not run here"
        )
        return replace(reply, status=ClaimResult.STALE)

    def _held(self, task: str) -> Admission:
        """A fire its pause skips: recorded `skipped`, loudly only the first time."""
        return Admission(run=False, reason="paused", quiet=not self._pause.first_skip(task))

    def control_starting(self) -> None:
        """Fleet control is starting: claims wait until it has read the pause state."""
        self._control_ready = asyncio.Event()

    def control_ready(self) -> None:
        if self._control_ready is not None:
            self._control_ready.set()

    @override
    async def start(self) -> None:
        """`run`: this replica schedules, so it folds (and records) fires due while its own
        claimed run goes on; refusers of those fires record nothing."""
        self._store.schedules = True

    def _since(self, reply: ClaimReply, fire: Fire) -> int:
        """Where the fleet-wide count starts: the previous mark, except that fires older than
        MISFIRE_GRACE that this run does not stand for were recorded `missed` on their own."""
        oldest = (fire.oldest or fire.scheduled_for).timestamp()
        floor = min(oldest - 0.001, time.time() - self._grace)
        return max(reply.previous_mark, round(floor * 1000))

    def recovered(self, takeover: TakenOver) -> None:
        """Recovery took a dead claimer's fire over for this replica (counted). Its run is
        admitted on the lease the fire carries (`Fire.takeover`), without a claim."""
        self._count(takeover.task, "recovered")

    def release(self, takeover: TakenOver) -> None:
        """A fire taken over here that will not run here: its lease ends now, unrun."""
        self._leases.end(ClaimRequest.taken(takeover), "skipped", None)

    @override
    async def close(self, timeout: float) -> None:
        await self._leases.close(timeout)

    def _admission(
        self, request: ClaimRequest, task: TaskDefinition, fire: Fire, failures: int | None = None
    ) -> Admission:
        self._leases.hold(request, task, fire.scheduled_for, fire.lose_claim)

        def finished(record: RunRecord) -> None:
            newest = None
            if fire.manual is None:
                newest = (round(fire.scheduled_for.timestamp() * 1000), fire.id)
            self._leases.end(request, record.outcome, newest)

        return Admission(run=True, finished=finished, failures=failures)

    async def _claim(self, request: ClaimRequest) -> ClaimReply:
        future: asyncio.Future[ClaimReply] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="claims")
        return await future

    async def _flush(self) -> None:
        """Send what has queued up; what queues meanwhile goes in the next call (Nagle)."""
        while self._queue:
            batch, self._queue = self._queue[:BATCH], self._queue[BATCH:]
            wait_ms = self._wait_ms if not self._unacked else UNACKED_WAIT_MS
            try:
                replies, acked = await self._store.claim(
                    [request for request, _ in batch],
                    replicas=1 if self._replicated else 0,
                    wait_ms=wait_ms,
                )
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            if acked is not None:
                self._note_acks(acked, any(r.status == "won" for r in replies))
            for (_, future), reply in zip(batch, replies, strict=True):
                if not future.done():
                    future.set_result(reply)

    def _note_acks(self, acked: int, won: bool) -> None:
        """No replica acknowledged: one warning, then short WAITs until one does again (a
        primary left without replicas must not hold every claim for REDIS_TIMEOUT)."""
        if acked > 0:
            if self._unacked:
                logger.info("claims acknowledged by a replica again")
            self._unacked = False
        elif won and not self._unacked:
            self._unacked = True
            logger.bind(wait_ms=self._wait_ms).warning(
                "claim not acknowledged by any replica in time: running on the primary the "
                "sentinels confirm (a failover before a replica catches up could run it again)"
            )

    def _count(self, task: str, result: str) -> None:
        self._metrics.on_claim(task, result)


def _request(task: TaskDefinition, fire: Fire, *, held: bool) -> ClaimRequest:
    at_ms = round(fire.scheduled_for.timestamp() * 1000)
    return ClaimRequest(
        task=task.name,
        at_ms=at_ms,
        fire_id=fire.id,
        recover=task.recover,
        manual=fire.manual,
        held=held,
        ahead_ms=max(at_ms - round(time.time() * 1000), 0),
    )
