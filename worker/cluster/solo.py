"""A replica alone on its Redis runs its cluster fires without claiming them.

Claims cost two round trips per fire; with nobody to share the fires with, they buy
nothing. Fleet control says when this replica is alone (it is the control channel's only
subscriber) and when another replica joins (its `hello`, or the subscriber count): then
every fire run alone is claimed after the fact, the runs still going keep the lease, and
from then on every fire is claimed. A joining replica claims nothing for JOIN_GRACE, so
the replica that was alone has switched before the first contested fire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from loguru import logger

from worker.cluster.claims import ClaimRequest, ClaimStore
from worker.cluster.leases import Leases

JOIN_GRACE = 0.3
"""Seconds a replica that has just announced itself waits before its first claim."""


@dataclass(slots=True)
class _SoloRun:
    request: ClaimRequest
    running: bool
    outcome: str = "ok"


class Solo:
    """The fires run while alone (the newest per task), claimed when the fleet grows."""

    def __init__(self, store: ClaimStore, leases: Leases) -> None:
        self._store = store
        self._leases = leases
        self.alone = False
        self._runs: dict[str, _SoloRun] = {}
        self._adopted: dict[str, ClaimRequest] = {}
        self.joined = asyncio.Event()
        """Set when the fleet grows (recovery, idle while alone, looks again at once)."""

    def ran(self, request: ClaimRequest) -> Callable[[str, tuple[int, str] | None], None]:
        """A fire run alone; call the result with its outcome when it ends."""
        entry = self._runs[request.task] = _SoloRun(request, running=True)

        def ended(outcome: str, newest: tuple[int, str] | None) -> None:
            entry.running, entry.outcome = False, outcome
            if self._adopted.get(request.task) is request:
                del self._adopted[request.task]
                self._leases.end(request, outcome, newest)

        return ended

    async def join(self) -> None:
        """Another replica is here: claim what ran alone (runs going keep their lease)."""
        if not self.alone:
            return
        self.alone = False
        self.joined.set()
        runs, self._runs = list(self._runs.values()), {}
        logger.bind(fires=len(runs)).info("fleet joined: claiming every cluster fire")
        if not runs:
            return
        try:
            replies, _ = await self._store.claim([run.request for run in runs])
        except Exception as exc:
            logger.bind(error=str(exc)).warning("fires run alone not claimed")
            return
        for run, reply in zip(runs, replies, strict=True):
            if reply.status != "won":
                continue
            if run.running:
                self._leases.hold(run.request)
                self._adopted[run.request.task] = run.request
            else:
                newest = (run.request.at_ms, run.request.fire_id)
                self._leases.end(run.request, run.outcome, None if run.request.manual else newest)

    def leave(self) -> None:
        """This replica is the only one: run cluster fires without claims from now on."""
        if not self.alone:
            logger.info("alone on redis: cluster fires run without claims")
        self.alone = True
