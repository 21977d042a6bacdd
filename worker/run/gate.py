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


class FireGate(Protocol):
    async def admit(self, task: TaskDefinition, fire: Fire) -> bool | Admission: ...


class AdmitAll:
    """Every fire runs here: a single worker, or instance-scoped tasks."""

    async def admit(self, task: TaskDefinition, fire: Fire) -> bool:
        return True
