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
from typing_extensions import override

from worker.cluster.claims import ClaimStore
from worker.cluster.gate import ClusterGate
from worker.cluster.watch import MARGIN, LeaseWatch
from worker.concurrency import cancel_and_wait
from worker.connect.errors import is_redis_outage
from worker.connect.outage import OutageMonitor
from worker.lifecycle import Service, Stage
from worker.protocol import TakenOver
from worker.run.fire import Fire

if TYPE_CHECKING:
    from worker.run.runner import Runner

RECOVERY_POLL = 0.5
"""Seconds between looks for expired leases while Redis is unreachable."""
ORPHAN_LEASES = 12
"""A fire of a task this replica's application lacks waits this many CLAIM_LEASEs (60 s by
default), its lease run out, for a replica that has the task; then, when no live replica's
record lists the task (it was removed, or its app is gone), one replica ends it unrun."""


class Recovery(Service):
    """Watches for leases that ran out and runs their fires here (`run` with the scheduler
    role only: `run-task` claims, nothing more)."""

    stage = Stage.SCHEDULING

    def __init__(
        self,
        store: ClaimStore,
        gate: ClusterGate,
        outage: OutageMonitor,
        runner: Runner,
        lease: float = 5.0,
        watch: LeaseWatch | None = None,
    ) -> None:
        self._store = store
        self._watch = watch or LeaseWatch()
        self._lease = lease
        self._gate = gate
        self._outage = outage
        self._task: asyncio.Task[None] | None = None
        self._runner = runner
        self._orphan_after = ORPHAN_LEASES * lease
        self._left: set[str] = set()

    @override
    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="claim-recovery")

    @override
    def stop_intake(self) -> None:
        """The stop has begun: take nothing over any more (a fire taken now could not run
        here; its lease runs out and another replica takes it)."""
        if self._task is not None:
            self._task.cancel()

    @override
    async def close(self, timeout: float) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task], timeout=max(timeout, 0.01))
            self._task = None

    async def _loop(self) -> None:
        """Look when the earliest lease deadline passes (Redis says when); with no lease
        anywhere, sleep until a claim announces one (`LeaseWatch`)."""
        watch = self._watch
        while True:
            await watch.wait()
            try:
                look = await self._store.take_over(runs=self._runs_here)
            except Exception as exc:
                _failed(exc)
                watch.look_in(RECOVERY_POLL)
                continue
            for found in look.taken:
                self._run(found)
            for found in look.abandoned:
                self._abandon(found)
            try:
                taken, abandoned = await self._orphans(look.left)
                for found in taken:
                    self._end_orphan(found)
                for found in abandoned:
                    self._abandon(found)
            except Exception as exc:  # looked at again with the next look
                _failed(exc)
            self._note_left(look.left)
            due = None if look.wait is None else look.wait + MARGIN
            if look.left:  # look again when the oldest may be ended, or a wait later
                waits = [self._orphan_after - since for since in look.left.values()]
                again = max(min((w for w in waits if w > 0), default=self._orphan_after), MARGIN)
                due = again if due is None else min(due, again)
            watch.look_in(due)

    async def _orphans(self, left: dict[str, float]) -> tuple[list[TakenOver], list[TakenOver]]:
        """Fires left long enough whose task no live replica lists: taken, to be ended (and
        those recovered too often already, ended `abandoned`)."""
        waited = [task for task, since in left.items() if since >= self._orphan_after]
        if not waited:
            return [], []
        listed = await self._store.listed_tasks()
        if listed is None:
            return [], []
        return await self._store.take_over_tasks([task for task in waited if task not in listed])

    def _end_orphan(self, found: TakenOver) -> None:
        self._gate.release(found)
        logger.bind(
            task=found.task, fire=found.fire_id, previous_owner=found.previous_owner
        ).warning("fire of a task no live replica has: its lease ended, the fire not run")

    def _abandon(self, found: TakenOver) -> None:
        """Recorded here, once: the take-over script ended the fire `abandoned`."""
        definition = self._runner.definition(found.task)
        precise = definition.precise if definition is not None else False
        fire = Fire(
            found.task,
            datetime.fromtimestamp(found.at_ms / 1000, UTC),
            precise=precise,
            manual=found.manual,
        )
        error = (
            f"recovered {self._store.max_recoveries} times and never finished (last claimer "
            f"{found.previous_owner}): abandoned, not run again"
        )
        self._runner.abandon(fire, error)

    def _note_left(self, left: dict[str, float]) -> None:
        """One line per fire left to another replica (not one per look)."""
        for task in left.keys() - self._left:
            logger.bind(task=task, expired_s=round(left[task], 1)).info(
                "fire of a task this application lacks left for a replica that has it"
            )
        self._left = set(left)

    def _runs_here(self, task: str) -> bool:
        return self._runner.definition(task) is not None

    def _run(self, found: TakenOver) -> None:
        definition = self._runner.definition(found.task)
        if definition is None:  # removed here since the look: its lease runs out for another
            logger.bind(task=found.task).warning("lease taken over for a task unknown here")
            return
        fire = Fire(
            found.task,
            datetime.fromtimestamp(found.at_ms / 1000, UTC),
            precise=definition.precise,
            manual=found.manual,
            takeover=found,
        )
        if fire.id != found.fire_id:  # the schedule's precision changed since: keep the id
            logger.bind(task=found.task, fire=found.fire_id).warning("recovered fire id differs")
        logger.bind(task=found.task, fire=found.fire_id, previous_owner=found.previous_owner).info(
            "fire recovered from a dead claimer"
        )
        self._gate.recovered(found)
        if self._runner.start_fire(fire) is None and self._runner.accepting:
            self._gate.release(found)  # folded into a run going on here, recorded skipped
        # Not accepting: the lease runs out and another replica runs the fire.


def _failed(exc: BaseException) -> None:
    if not is_redis_outage(exc):
        logger.opt(exception=exc).error("recovery look-up failed")
