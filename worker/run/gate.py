"""`FireGate`: whether this process runs a fire. The cluster claim implements it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from worker.run.fire import Fire
from worker.schedule.definitions import TaskDefinition

if TYPE_CHECKING:
    from worker.run.records import RunRecord


@dataclass(frozen=True, slots=True)
class Admission:
    """A gate's answer with more than yes or no.

    `run=False` with no `reason`: another replica has the fire; nothing is logged above
    DEBUG and nothing recorded. With a `reason`: recorded `skipped` with it (here only).
    `finished` is called with the run's record once it is recorded (ends the claim's lease).
    """

    run: bool
    reason: str | None = None
    finished: Callable[[RunRecord], None] | None = None
    failures: int | None = None
    """The task's failed runs in a row fleet-wide (a claim's): the run continues that streak."""
    quiet: bool = False
    """A skip that repeats what is known (a paused task's fires after the first): logged at
    INFO, not WARNING."""


ADMITTED = Admission(run=True)
"""Run it, nothing more to it (every fire of a single worker, instance-scoped tasks)."""


class FireGate(Protocol):
    @property
    def waits_out_outages(self) -> bool:
        """True: `admit` retries through Redis outages itself (the claim), so the runner sets
        it no deadline and newer fires fold into the waiting run; False: REDIS_TIMEOUT."""
        ...

    async def admit(self, task: TaskDefinition, fire: Fire) -> Admission: ...


class AdmitAll:
    """Every fire runs here: a single worker, or instance-scoped tasks."""

    waits_out_outages = False

    async def admit(self, task: TaskDefinition, fire: Fire) -> Admission:
        return ADMITTED
