"""What this replica learns from the others' instance records, at its heartbeat: another
live process writing under its WORKER_INSTANCE_ID, and tasks the others define differently.

Neither is refused: restarts reuse ids, and a rolling deploy that changes a schedule is
normal. Each is a WARNING (once per other process, once per task and other definition),
and the instance record says so for `status` and the dashboard.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from loguru import logger

from worker.connect.redis import text
from worker.observe.instance import InstanceState
from worker.state.definitions import disagreements
from worker.state.keys import Keys
from worker.state.read import json_object

if TYPE_CHECKING:
    from redis.asyncio import Redis

DUPLICATE_SHOWN = 60.0
"""Seconds (at least three heartbeats) the record says the id is duplicated after the last
sign of the other process: one beating less often than this one is seen less often."""


class PeerWatch:
    """Fed by the heartbeat: the record each beat replaced, and now and then the others'."""

    def __init__(self, state: InstanceState, keys: Keys, *, interval: float) -> None:
        self._state = state
        self._keys = keys
        self._shown_for = max(DUPLICATE_SHOWN, 3 * interval)
        self._beats = 0
        self._others: set[tuple[Any, ...]] = set()
        self._told: set[tuple[str, str]] = set()
        self._duplicate: dict[str, Any] | None = None
        self._duplicate_seen = 0.0

    def replaced(self, raw: Any) -> None:
        """The record this beat overwrote (SET … GET): after the first beat (which may
        replace the record of this id's previous process, a restart) a record not written
        by this process is another live one's."""
        self._beats += 1
        record = json_object(raw)
        if self._beats == 1 or record is None:
            return
        me = (self._state.hostname, self._state.pid, self._state.started_at)
        other = (record.get("hostname"), record.get("pid"), record.get("started_at"))
        if other == me:
            return
        self._duplicate = {"host": other[0], "pid": other[1], "started_at": other[2]}
        self._duplicate_seen = time.monotonic()
        if other not in self._others:
            self._others.add(other)
            logger.bind(instance=self._state.id, other_host=other[0], other_pid=other[1]).warning(
                "WORKER_INSTANCE_ID is also used by another live replica: the two overwrite "
                "one record (status shows one of them); give each replica its own id"
            )

    def duplicate(self) -> dict[str, Any] | None:
        """The other process last seen writing under this id, while recent."""
        if self._duplicate is None or time.monotonic() - self._duplicate_seen > self._shown_for:
            return None
        return self._duplicate

    async def compare(self, redis: Redis, ids: Iterable[Any]) -> None:
        """Read the records of the other replicas in the index (`ids`, one MGET) and warn
        where one defines a task of this replica's differently."""
        others = [text(i) for i in ids if text(i) != self._state.id]
        if others:
            values = await redis.mget([self._keys.instance(i) for i in others])
            self.compare_records([r for v in values if (r := json_object(v)) is not None])

    def compare_records(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Warn once per (task, other definition) where a live replica defines one of this
        replica's tasks differently."""
        tasks = self._state.catalog.get("tasks")
        if not isinstance(tasks, dict):
            return
        for found in disagreements(self._state.id, tasks, records):
            told = (found.task, json.dumps(dict(found.theirs), sort_keys=True, default=str))
            if told in self._told:
                continue
            self._told.add(told)
            logger.bind(
                task=found.task,
                instance=found.instance,
                other=found.other,
                fields=",".join(found.fields),
            ).warning(found.line())
