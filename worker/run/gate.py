"""`FireGate`: whether this process runs a fire. The cluster claim implements it."""

from __future__ import annotations

from typing import Protocol

from worker.run.fire import Fire
from worker.schedule.definitions import TaskDefinition


class FireGate(Protocol):
    async def admit(self, task: TaskDefinition, fire: Fire) -> bool: ...


class AdmitAll:
    """Every fire runs here: a single worker, or instance-scoped tasks."""

    async def admit(self, task: TaskDefinition, fire: Fire) -> bool:
        return True
