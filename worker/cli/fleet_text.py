"""`status`'s words on what the replicas disagree about: a clock off Redis's, a shared
WORKER_INSTANCE_ID, a task defined differently by two live replicas."""

from __future__ import annotations

from typing import Any


def replica_notes(record: dict[str, Any]) -> str:
    """The end of a replica's line: its clock against Redis's, and a duplicated id."""
    notes = ""
    offset = record.get("clock_offset_ms")
    if isinstance(offset, int | float) and not isinstance(offset, bool):
        state = record.get("clock")
        flag = f" ({state}: more than CLAIM_SKEW)" if state in ("ahead", "behind") else ""
        notes += f"  clock={offset / 1000:+.3f}s{flag}"
    other = record.get("duplicated_with")
    if isinstance(other, dict):
        notes += f"  DUPLICATED id: also written by host={other.get('host')} pid={other.get('pid')}"
    return notes


def conflicts_text(tasks: list[dict[str, Any]]) -> str:
    """One paragraph per task the live replicas define differently (none: nothing)."""
    lines: list[str] = []
    for task in tasks:
        conflict = task.get("definition_conflict")
        if not conflict:
            continue
        fields = conflict["fields"]
        held = "; ".join(
            ", ".join(f"{f}={d.get(f)!r}" for f in fields) + f" on {','.join(d['instances'])}"
            for d in conflict["definitions"]
        )
        lines.append(f"  task {task['name']} is defined differently by live replicas: {held}")
    return (
        "\n\ndefinitions differ (the task's fires are split between them):\n" + "\n".join(lines)
        if lines
        else ""
    )
