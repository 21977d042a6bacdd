"""The read model: what `status` (and later metrics and the dashboard) read from Redis."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker.connect.redis import text, texts
from worker.state.fleet import PauseEntry, pause_entries, pause_entry
from worker.state.keys import Keys

if TYPE_CHECKING:
    from redis.asyncio import Redis

RECENT_RUNS = 100
"""How many of a task's newest runs `status` counts by outcome."""


@dataclass(frozen=True, slots=True)
class TaskState:
    """One task as the fleet records it (`FleetReader.task_state`)."""

    replicas: list[dict[str, Any]]
    summary: dict[str, Any] | None
    runs: list[dict[str, str]]
    """Its newest runs, newest first in the stream's order."""
    paused: PauseEntry | None
    claim: dict[str, str]


@dataclass(frozen=True, slots=True)
class FleetState:
    """The live replicas, every task's newest deciding run and the pause hash."""

    replicas: list[dict[str, Any]]
    summaries: dict[str, dict[str, Any]]
    paused: dict[str, PauseEntry]


class FleetReader:
    """Bounded reads: a fixed number of commands each, whatever the history's length."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def instances(self, *, scan: bool = False) -> list[dict[str, Any]]:
        """Live replicas' records (dead ones expired by TTL), sorted by id: the index of
        instance ids (`Keys.instances`), then their records, two commands. `scan` adds the
        records SCAN finds (replicas of a version before the index: `status` during a rolling
        upgrade), at a cost that grows with the keyspace."""
        found: Any = await self._redis.zrange(self._keys.instances, 0, -1)
        return await self._records(found, scan=scan)

    async def replicas(self, *, scan: bool = False) -> list[dict[str, Any]]:
        """Live replicas with the fields `status` shows first: host, RSS, CPU, last seen."""
        return _as_replicas(await self.instances(scan=scan))

    async def task_state(self, task: str, runs: int) -> TaskState:
        """What a task's page shows, in two round trips whatever the history's length: the
        index of instance ids with the task's summary, newest `runs` runs, pause entry and
        claim in one pipeline, then the replicas' records."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrange(self._keys.instances, 0, -1)
        pipe.hget(self._keys.task_summaries, task)
        pipe.xrevrange(self._keys.task_runs(task), count=runs)
        pipe.hget(self._keys.paused, task)
        pipe.hgetall(self._keys.claim(task))
        ids, summary, entries, paused, claim = await pipe.execute()
        return TaskState(
            replicas=_as_replicas(await self._records(ids)),
            summary=json_object(summary),
            runs=[_entry(entry_id, fields) for entry_id, fields in entries or ()],
            paused=pause_entry(paused),
            claim=texts(claim),
        )

    async def fleet_state(self) -> FleetState:
        """What the tasks page starts from, in two round trips: the index of instance ids
        with every task's summary and the pause hash in one pipeline, then the records."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrange(self._keys.instances, 0, -1)
        pipe.hgetall(self._keys.task_summaries)
        pipe.hgetall(self._keys.paused)
        ids, summaries, paused = await pipe.execute()
        return FleetState(
            replicas=_as_replicas(await self._records(ids)),
            summaries=_objects(summaries),
            paused=pause_entries(paused),
        )

    async def _records(self, ids: Any, *, scan: bool = False) -> list[dict[str, Any]]:
        keys = [self._keys.instance(text(i)) for i in ids or ()]
        if scan:
            pattern = self._keys.instance_pattern
            keys += [text(k) async for k in self._redis.scan_iter(match=pattern, count=500)]
        if not keys:
            return []
        values = await self._redis.mget(list(dict.fromkeys(keys)))
        records = [
            _shaped(record) for value in values if (record := json_object(value)) is not None
        ]
        return sorted(records, key=lambda record: str(record.get("id")))

    async def paused(self) -> dict[str, PauseEntry]:
        """The fleet's pause hash: task → its entry (a field that holds none is left out)."""
        return pause_entries(await self._redis.hgetall(self._keys.paused))

    async def claims(self, tasks: list[str]) -> dict[str, dict[str, str]]:
        """Each task's claim hash (mark, fire, owner, lease, done, outcome), one round trip."""
        if not tasks:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for task in tasks:
            pipe.hgetall(self._keys.claim(task))
        replies = await pipe.execute()
        return {task: texts(reply) for task, reply in zip(tasks, replies, strict=True)}

    async def outcome_counts(self, tasks: list[str]) -> dict[str, dict[str, int]]:
        """Runs by outcome over each task's last RECENT_RUNS (its own stream, newest first):
        a `status` call reads a bounded amount whatever RUN_HISTORY_PER_TASK is."""
        if not tasks:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for task in tasks:
            pipe.xrevrange(self._keys.task_runs(task), count=RECENT_RUNS)
        replies = await pipe.execute()
        counts: dict[str, dict[str, int]] = {}
        for task, entries in zip(tasks, replies, strict=True):
            found: dict[str, int] = {}
            for _, fields in entries:
                outcome = text(fields.get(b"outcome", fields.get("outcome", b"?")))
                found[outcome] = found.get(outcome, 0) + 1
            counts[task] = found
        return counts

    async def queues(self, prefix: str, names: Sequence[str]) -> list[dict[str, Any]]:
        """Each queue's counts by state and last failures (BullMQ's keys: `state.queues`)."""
        from worker.state.queues import QueueReader

        return await QueueReader(self._redis, prefix).report(names)

    async def summaries(self) -> dict[str, dict[str, Any]]:
        """Each task's newest deciding run, by task name."""
        return _objects(await self._redis.hgetall(self._keys.task_summaries))

    async def target_lanes(
        self, names: Sequence[str] | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """Trigger target lanes by target, one entry per instance (see `state.targets`): those
        of `names` (one command each), or every target's found by SCAN."""
        from worker.state.target_status import read_lanes

        return await read_lanes(self._redis, self._keys, names)

    async def alerts(self, count: int) -> list[dict[str, str]]:
        """The newest `count` alert events (task, state, data), newest first, one command."""
        entries: Any = await self._redis.xrevrange(self._keys.alerts, count=count)
        return [_entry(entry_id, fields) for entry_id, fields in entries or ()]


_OBJECTS = ("next_fires", "running", "health", "process", "tasks")
_LISTS = ("roles", "queues", "targets")


def _shaped(record: dict[str, Any]) -> dict[str, Any]:
    """An instance record with each field readers look into of the type they expect (one a
    foreign or older writer got wrong is left empty): one bad record must not hide a page."""
    for name in _OBJECTS:
        if not isinstance(record.get(name), dict):
            record[name] = {}
    record["tasks"] = {k: v for k, v in record["tasks"].items() if isinstance(v, dict)}
    for name in _LISTS:
        found = record.get(name)
        record[name] = [v for v in found if isinstance(v, str)] if isinstance(found, list) else []
    if not isinstance(record.get("queue_prefix"), str):
        record.pop("queue_prefix", None)
    # Fields of later versions (the clock against Redis's, a shared WORKER_INSTANCE_ID):
    # absent from an older replica's record, so unknown, not wrong.
    if record.get("clock") not in ("ok", "ahead", "behind"):
        record["clock"] = None
    if not isinstance(record.get("duplicated_with"), dict):
        record["duplicated_with"] = None
    record["duplicated"] = record["duplicated_with"] is not None
    return record


def _as_replicas(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Instance records with the fields `status` shows first: host, RSS, CPU, last seen."""
    for record in records:
        # The heartbeat's own figures (every beat); a replica of an earlier version has only
        # its health check's (every 30 s, once it has run).
        record.setdefault("host", record.get("hostname"))
        for figure in ("rss_mb", "cpu_percent"):
            found = record["process"].get(figure)
            record.setdefault(figure, record["health"].get(figure) if found is None else found)
        record.setdefault("last_seen", record.get("heartbeat_at"))
        record.setdefault("clock_offset_ms", None)
    return records


def _objects(raw: Any) -> dict[str, dict[str, Any]]:
    """A hash of JSON objects by name; a field that holds none is left out."""
    found = {text(key): json_object(value) for key, value in (raw or {}).items()}
    return {key: value for key, value in found.items() if value is not None}


def parse_instant(text: Any) -> datetime | None:
    """An ISO 8601 instant as written in records (`...Z`), or None if it is not one."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    # Records write UTC; one without an offset (a foreign writer) is read as UTC, not as a
    # naive time no aware one can be compared with.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # an offset taking it past year 1 or 9999
        return None


def json_object(raw: Any) -> dict[str, Any] | None:
    """A JSON object written by a replica; None for none, or for anything else (one bad
    value must not hide the rest of a page)."""
    if raw is None:
        return None
    try:
        found = json.loads(raw)
    except (ValueError, TypeError):
        return None
    return found if isinstance(found, dict) else None


def _entry(entry_id: bytes | str, fields: dict[Any, Any]) -> dict[str, str]:
    """A stream entry as text fields, plus its `id`."""
    found = texts(fields)
    found["id"] = text(entry_id)
    return found
