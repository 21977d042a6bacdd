"""The fleet's pause state as this replica knows it (kept current by `FleetControl`)."""

from __future__ import annotations

import time

from worker.protocol import PauseEntry


class PauseState:
    """Task name → its pause entry; which pauses have had a fire skipped here yet."""

    def __init__(self) -> None:
        self._entries: dict[str, PauseEntry] = {}
        self._skipped: dict[str, PauseEntry] = {}

    def paused(self, task: str) -> bool:
        entry = self._entries.get(task)
        return entry is not None and entry.active(time.time())

    def first_skip(self, task: str) -> bool:
        """A fire of `task` is skipped for its pause: whether it is the first under that
        pause here (the first is worth a warning, the rest are what the pause is for)."""
        entry = self._entries.get(task)
        if entry is None or self._skipped.get(task) == entry:
            return False
        self._skipped[task] = entry
        return True

    def replace(self, entries: dict[str, PauseEntry]) -> list[str]:
        """Take the whole state read from Redis; returns the tasks whose state changed."""
        changed = {n for n in entries.keys() | self._entries.keys() if self._changed(n, entries)}
        self._entries = dict(entries)
        self._skipped = {n: e for n, e in self._skipped.items() if entries.get(n) == e}
        return sorted(changed)

    def _changed(self, task: str, entries: dict[str, PauseEntry]) -> bool:
        old, new = self._entries.get(task), entries.get(task)
        return old is None or new is None or old.until != new.until
