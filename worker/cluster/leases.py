"""Leases held by this replica: renewed every third of CLAIM_LEASE, ended when recorded."""

from __future__ import annotations

import asyncio

from loguru import logger

from worker.cluster.claims import ClaimRequest, ClaimStore, LeaseEnd
from worker.concurrency import cancel_and_wait
from worker.connect.errors import describe_error
from worker.connect.outage import OutageMonitor
from worker.connect.retry import OutageRetry

BATCH = 2000
"""Lease ends per script call at most."""


class Leases:
    """One renewal call for every lease held; finishes retried until Redis takes them."""

    def __init__(self, store: ClaimStore, outage: OutageMonitor, lease: float) -> None:
        self._store = store
        self._outage = outage
        self._every = lease / 3
        self._lease = lease
        self._held: dict[str, ClaimRequest] = {}
        self._renewer: asyncio.Task[None] | None = None
        self._ending: list[LeaseEnd] = []
        self._finisher: asyncio.Task[None] | None = None

    def hold(self, request: ClaimRequest) -> None:
        self._held[request.task] = request
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_loop(), name="claim-leases")

    def end(self, request: ClaimRequest, outcome: str, newest: tuple[int, str] | None) -> None:
        """The run is recorded: end its lease in the background (a run never waits on it).
        Ends queued while a call is out go together in the next one."""
        if self._held.get(request.task) is request:
            del self._held[request.task]
        self._ending.append(LeaseEnd(request, outcome, newest))
        if self._finisher is None or self._finisher.done():
            self._finisher = asyncio.create_task(self._finish_loop(), name="claim-finish")

    async def close(self, timeout: float) -> None:
        """Ends get what is left of `timeout`; renewals stop (leases then run out)."""
        if self._finisher is not None and not self._finisher.done():
            await asyncio.wait({self._finisher}, timeout=max(timeout, 0.01))
        pending = [t for t in (self._renewer, self._finisher) if t is not None]
        await cancel_and_wait(pending, timeout=0.5)
        self._renewer = self._finisher = None

    async def _renew_loop(self) -> None:
        """Every third of the lease; after a failed renewal, again within a second (a
        failover shorter than what is left of the lease then costs no recovery)."""
        retry = OutageRetry(self._outage)
        pause = self._every
        while self._held:
            await asyncio.sleep(pause)
            held = list(self._held.values())
            if not held:
                return
            try:
                kept = await self._store.renew([(r.task, r.fire_id) for r in held])
            except Exception as exc:
                if not retry.failed(exc):
                    logger.opt(exception=exc).error("claim leases not renewed")
                pause = retry.delay(cap=self._every)
                continue
            pause = self._every
            retry.backoff.reset()  # the claims and the recorder report Redis's recovery
            for request, ok in zip(held, kept, strict=True):
                if not ok and self._held.get(request.task) is request:
                    del self._held[request.task]
                    logger.bind(task=request.task, fire=request.fire_id).warning(
                        "claim lease lost: another replica has taken the fire over"
                    )

    async def _finish_loop(self) -> None:
        retry = OutageRetry(self._outage)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + max(self._lease * 3, 30.0)
        while self._ending:
            batch, self._ending = self._ending[:BATCH], self._ending[BATCH:]
            try:
                await self._store.finish(batch)
            except Exception as exc:
                if loop.time() > give_up or not retry.failed(exc):
                    logger.bind(leases=len(batch), error=describe_error(exc)).warning(
                        "claim leases not ended: they run out by themselves"
                    )
                    continue
                self._ending[:0] = batch
                await retry.wait()
                continue
            retry.backoff.reset()
