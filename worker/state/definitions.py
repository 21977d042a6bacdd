"""Task definitions as replicas record them, compared: replicas that run one task on
different schedules (a rolling deploy, two applications on one Redis and KEY_PREFIX) split
its fires between them, so they are reported (the worker's log, `check`, `status`, the
dashboard).

A replica's record names each task's definition in its catalogue (`describe_app`). A field
an older replica's record lacks is not compared: it is unknown, not different.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FIELDS = ("schedule", "timezone", "scope", "time_limit", "recover")
"""What must agree between replicas running one task (disabled is not: a replica that does
not fire a task splits nothing)."""


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One task defined differently by two replicas (or a configuration and a replica)."""

    task: str
    instance: str
    other: str
    fields: tuple[str, ...]
    mine: Mapping[str, Any]
    theirs: Mapping[str, Any]

    def line(self) -> str:
        """The one line the worker logs and `check` prints."""
        differ = "; ".join(
            f"{field}: {_shown(self.mine.get(field))} vs {_shown(self.theirs.get(field))}"
            for field in self.fields
        )
        return (
            f"task {self.task} is defined differently by {self.instance} and {self.other} "
            f"({differ}): its fires are split between them"
        )


def definition(entry: Any) -> dict[str, Any] | None:
    """The compared fields of one task's catalogue entry; None when it fires nowhere (not an
    object, or disabled)."""
    if not isinstance(entry, dict) or entry.get("disabled") is True:
        return None
    return {field: entry[field] for field in FIELDS if field in entry}


def differing(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields both name with different values."""
    return tuple(f for f in FIELDS if f in mine and f in theirs and mine[f] != theirs[f])


def disagreements(
    instance: str, tasks: Mapping[str, Any], records: Iterable[Mapping[str, Any]]
) -> list[Disagreement]:
    """Where `instance`'s tasks (a catalogue: name → entry) differ from other replicas'
    records (its own id skipped), one per (task, other replica)."""
    found: list[Disagreement] = []
    for record in records:
        other = str(record.get("id"))
        theirs_all = record.get("tasks")
        if other == instance or not isinstance(theirs_all, dict):
            continue
        for task, entry in tasks.items():
            mine, theirs = definition(entry), definition(theirs_all.get(task))
            if mine is None or theirs is None:
                continue
            fields = differing(mine, theirs)
            if fields:
                found.append(Disagreement(task, instance, other, fields, mine, theirs))
    return found


def conflicts(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Tasks the live replicas define differently: task → `fields` that differ and the
    `definitions` found, each with the `instances` that hold it."""
    held: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for record in records:
        tasks = record.get("tasks")
        for task, entry in (tasks if isinstance(tasks, dict) else {}).items():
            found = definition(entry)
            if found is not None:
                held.setdefault(task, []).append((str(record.get("id")), found))
    report: dict[str, dict[str, Any]] = {}
    for task, entries in held.items():
        fields = {f for _, a in entries for _, b in entries for f in differing(a, b)}
        if fields:
            report[task] = {
                "fields": [f for f in FIELDS if f in fields],
                "definitions": _grouped(entries),
            }
    return report


def _grouped(entries: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for instance, found in entries:
        group = next((g for g in groups if g["definition"] == found), None)
        if group is None:
            groups.append({"definition": found, "instances": [instance]})
        else:
            group["instances"].append(instance)
    return [{**g["definition"], "instances": sorted(g["instances"])} for g in groups]


def _shown(value: Any) -> str:
    return "none" if value is None else repr(value) if isinstance(value, str) else str(value)
