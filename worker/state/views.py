"""Page-sized reads for a reader without the application (the dashboard): what the fleet
records about itself, assembled per view.

Every view costs a fixed number of Redis commands whatever the history's length: a task's
runs come from its own capped stream (XREVRANGE with COUNT), the alerts from theirs; what
each replica runs (tasks, queues, targets) from its instance record (`describe_app`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from worker.state.definitions import conflicts
from worker.state.read import FleetReader, parse_instant
from worker.state.rows import alert_row, number, replica_row, run_row, task_row
from worker.state.target_status import merge_lanes

RUNS_SHOWN = 50
"""A task's page lists this many of its newest runs."""
CHART_RUNS = 200
"""Its lag chart plots this many (the same single read)."""
ALERTS_SHOWN = 100


class FleetViews:
    """One method per page; each returns plain JSON-ready data."""

    def __init__(
        self, reader: FleetReader, *, queue_prefix: str, targets: Sequence[str] = ()
    ) -> None:
        self._reader = reader
        self._queue_prefix = queue_prefix
        self._targets = tuple(targets)

    async def fleet(self) -> dict[str, Any]:
        """The live replicas: host, pid, version, roles, RSS, CPU, last seen, started."""
        replicas = await self._reader.replicas()
        return {"replicas": [replica_row(r) for r in replicas]}

    async def tasks(self) -> dict[str, Any]:
        """Every task any live replica runs (or that has a recorded run), one row each."""
        state = await self._reader.fleet_state()
        catalog = _catalog(state.replicas)
        names = sorted({*catalog, *state.summaries})
        claims = await self._reader.claims(names)
        differ = conflicts(state.replicas)
        now = datetime.now(UTC)
        rows = [
            task_row(
                name,
                catalog.get(name, {}),
                state.summaries.get(name, {}),
                state.replicas,
                state.paused.get(name),
                claims.get(name, {}),
                now,
                conflict=differ.get(name),
            )
            for name in names
        ]
        return {"tasks": rows}

    async def task(self, name: str) -> dict[str, Any] | None:
        """One task: its row, its newest runs and the lag over its last CHART_RUNS runs;
        None when nothing is known of it."""
        state = await self._reader.task_state(name, CHART_RUNS)
        # Each replica writes its records in batches: the stream's order is not the runs'.
        runs = sorted(state.runs, key=_started, reverse=True)
        catalog = _catalog(state.replicas).get(name)
        if catalog is None and state.summary is None and not runs:
            return None
        now = datetime.now(UTC)
        row = task_row(
            *(name, catalog or {}, state.summary or {}, state.replicas, state.paused, state.claim),
            now,
            conflict=conflicts(state.replicas).get(name),
        )
        return {
            "task": row,
            "runs": [run_row(entry) for entry in runs[:RUNS_SHOWN]],
            "lag": [
                {"at": entry.get("scheduled_for") or entry.get("started_at"), "lag_ms": lag}
                for entry in reversed(runs)
                if (lag := number(entry.get("lag_ms"))) is not None
                and entry.get("outcome") not in ("missed", "skipped")
            ],
        }

    async def targets(self) -> dict[str, Any]:
        """Per trigger target: last delivered fire, pending fires, failing since."""
        instances = await self._reader.replicas()
        named = [t for i in instances for t in i.get("targets") or ()]
        names = list(dict.fromkeys([*self._targets, *named]))
        lanes = await self._reader.target_lanes(names)
        live = {str(i.get("id")) for i in instances}
        return {"targets": merge_lanes(names, lanes, live)}

    async def queues(self) -> dict[str, Any]:
        """Each queue the replicas process: counts by state and the last failed jobs."""
        instances = await self._reader.replicas()
        found: dict[str, str] = {}
        for instance in instances:
            prefix = instance.get("queue_prefix") or self._queue_prefix
            for queue in instance.get("queues") or ():
                found.setdefault(queue, prefix)
        report: list[dict[str, Any]] = []
        for queue, prefix in sorted(found.items()):
            report += await self._reader.queues(prefix, [queue])
        return {"queues": report}

    async def alerts(self, count: int = ALERTS_SHOWN) -> dict[str, Any]:
        """The newest alert events, newest first."""
        return {"alerts": [alert_row(entry) for entry in await self._reader.alerts(count)]}


def _catalog(instances: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What the live replicas run: their tasks, and their queues' jobs (runs of the task
    `queue:<name>`, which has no schedule)."""
    found: dict[str, dict[str, Any]] = {}
    for instance in instances:
        for name, entry in (instance.get("tasks") or {}).items():
            found.setdefault(name, entry)
        for queue in instance.get("queues") or ():
            found.setdefault(f"queue:{queue}", {"scope": "queue"})
    return found


def _started(entry: dict[str, str]) -> float:
    moment = parse_instant(entry.get("started_at"))
    return moment.timestamp() if moment is not None else 0.0
