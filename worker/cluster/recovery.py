"""Recovery: a fire whose claimer died mid-run is taken over and run again, same fire id.

Every replica asks Redis (one cheap script call, Redis's clock) for leases that ran out,
at start and whenever the earliest lease deadline passes; with no lease held anywhere it
sleeps until a claim announces one. The take-over script gives each such fire to one
replica only.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from loguru import logger

from worker.cluster.claims import ClaimRequest, ClaimStore, TakenOver
from worker.cluster.gate import ClusterGate
from worker.cluster.watch import MARGIN
from worker.concurrency import cancel_and_wait
from worker.connect.errors import is_redis_outage
from worker.connect.outage import OutageMonitor
from worker.run.fire import Fire

if TYPE_CHECKING:
    from worker.run.runner import Runner

RECOVERY_POLL = 0.5
"""Seconds between looks for expired leases while Redis is unreachable."""


class Recovery:
    """Watches for leases that ran out and runs their fires here."""

    def __init__(
        self, store: ClaimStore, gate: ClusterGate, outage: OutageMonitor, lease: float = 5.0
    ) -> None:
        self._store = store
        self._lease = lease
        self._gate = gate
        self._outage = outage
        self._task: asyncio.Task[None] | None = None
        self._runner: Runner | None = None

    def start(self, runner: Runner) -> None:
        self._runner = runner
        self._task = asyncio.create_task(self._loop(), name="claim-recovery")

    def stop_intake(self) -> None:
        """The stop has begun: take nothing over any more (a fire taken now could not run
        here; its lease runs out and another replica takes it)."""
        if self._task is not None:
            self._task.cancel()

    async def close(self, timeout: float) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task], timeout=max(timeout, 0.01))
            self._task = None

    async def _loop(self) -> None:
        """Look when the earliest lease deadline passes (Redis says when); with no lease
        anywhere, sleep until a claim announces one (`LeaseWatch`)."""
        watch = self._gate.watch
        while True:
            await watch.wait()
            try:
                taken, until = await self._store.take_over(runs=self._runs_here)
            except Exception as exc:
                if not is_redis_outage(exc):
                    logger.opt(exception=exc).error("recovery look-up failed")
                watch.look_in(RECOVERY_POLL)
                continue
            for found in taken:
                self._run(found)
            watch.look_in(None if until is None else until + MARGIN)

    def _runs_here(self, task: str) -> bool:
        return self._runner is not None and self._runner.definition(task) is not None

    def _run(self, found: TakenOver) -> None:
        assert self._runner is not None
        definition = self._runner.definition(found.task)
        manual = found.manual_key.rpartition(":manual:")[2] if found.manual_key else None
        request = ClaimRequest(
            found.task, found.at_ms, found.fire_id, True, manual if manual else None
        )
        if definition is None:  # removed here since the look: its lease runs out for another
            logger.bind(task=found.task).warning("lease taken over for a task unknown here")
            return
        fire = Fire(
            found.task,
            datetime.fromtimestamp(found.at_ms / 1000, UTC),
            precise=definition.precise,
            manual=request.manual,
            recovered=True,
        )
        if fire.id != found.fire_id:  # the schedule's precision changed since: keep the id
            logger.bind(task=found.task, fire=found.fire_id).warning("recovered fire id differs")
        logger.bind(task=found.task, fire=found.fire_id, previous_owner=found.previous_owner).info(
            "fire recovered from a dead claimer"
        )
        self._gate.count(found.task, "recovered")
        self._gate.expect(request, fire.id)
        if self._runner.start_fire(fire) is None:
            self._gate.forget(request, fire.id)
            if self._runner.accepting:  # else: let the lease run out, another replica runs it
                self._gate.leases.end(request, "skipped", None)
