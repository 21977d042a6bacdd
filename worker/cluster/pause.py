"""The fleet's pause state as this replica knows it (kept current by `FleetControl`)."""

from __future__ import annotations

import time


class PauseState:
    """Task name → until when (epoch seconds; None: until resumed)."""

    def __init__(self) -> None:
        self._until: dict[str, float | None] = {}

    def paused(self, task: str) -> bool:
        if task not in self._until:
            return False
        until = self._until[task]
        return until is None or until > time.time()

    def replace(self, entries: dict[str, float | None]) -> list[str]:
        """Take the whole state read from Redis; returns the tasks whose state changed."""
        changed = sorted(set(entries.items()) ^ set(self._until.items()))
        self._until = dict(entries)
        return sorted({name for name, _ in changed})

    def snapshot(self) -> dict[str, float | None]:
        return dict(self._until)
