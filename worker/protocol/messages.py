"""The fleet's pause entries and control-channel messages: one encode, one decode each.

A pause entry is a field of the pause hash (task → `{"until": epoch s or null, "at":
epoch s}`). The control channel carries `pause`, `resume` and `trigger` (from the CLI) and
`lease` (published by the claim scripts, worker/cluster/scripts.py: `LEASE_OPEN` + ms +
`LEASE_CLOSE`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from worker.protocol.fires import epoch_instant


@dataclass(frozen=True, slots=True)
class PauseEntry:
    """A task paused fleet-wide: until when (epoch s; None: until resumed), since when."""

    until: float | None
    at: float | None = None

    def active(self, now: float) -> bool:
        """Whether it still holds at `now` (a pause is over at its `until`)."""
        return self.until is None or self.until > now

    @property
    def until_text(self) -> str | None:
        """`until` as ISO 8601 UTC (None: until resumed, or no instant a datetime holds)."""
        return None if self.until is None else epoch_instant(self.until)

    def encode(self) -> str:
        return json.dumps({"until": self.until, "at": self.at})

    @classmethod
    def decode(cls, raw: str | bytes) -> PauseEntry:
        """A pause hash field's value (ValueError for anything else); an `until` of
        Infinity is a pause until resumed."""
        found = _object(raw, "a pause entry")
        until, at = found.get("until"), found.get("at")
        if until is not None:
            until = _number(until, "a pause entry's until")
            until = None if until == math.inf else until
        return cls(until, None if at is None else _number(at, "a pause entry's at"))


@dataclass(frozen=True, slots=True)
class Pause:
    """The pause hash changed for `task`: re-read it."""

    task: str


@dataclass(frozen=True, slots=True)
class Resume:
    task: str


@dataclass(frozen=True, slots=True)
class Trigger:
    """Every live replica that has `task` tries one claim of the manual fire `token`."""

    task: str
    token: str | None = None


@dataclass(frozen=True, slots=True)
class LeaseGranted:
    """A lease of `ms` was granted earlier than every one held: recovery looks after it."""

    ms: float


ControlMessage = Pause | Resume | Trigger | LeaseGranted

LEASE_OPEN = '{"op":"lease","task":"","ms":'
LEASE_CLOSE = "}"


def encode_control(message: ControlMessage) -> str:
    """A control-channel message as published."""
    if isinstance(message, LeaseGranted):
        ms = int(message.ms) if float(message.ms).is_integer() else message.ms
        return f"{LEASE_OPEN}{json.dumps(ms)}{LEASE_CLOSE}"
    if isinstance(message, Trigger):
        return json.dumps({"op": "trigger", "task": message.task, "token": message.token})
    op = "pause" if isinstance(message, Pause) else "resume"
    return json.dumps({"op": op, "task": message.task})


def decode_control(data: str | bytes) -> ControlMessage | None:
    """A control-channel message; None for a well-formed one of an op this version does
    not know (a newer replica's); ValueError for anything else."""
    found = _object(data, "a control message")
    op, task = found.get("op"), found.get("task")
    if not isinstance(op, str) or task is None:
        raise ValueError("not a control message: it names no op or no task")
    task = str(task)
    if op == "pause":
        return Pause(task)
    if op == "resume":
        return Resume(task)
    if op == "trigger":
        return Trigger(task, str(found.get("token") or "") or None)
    if op == "lease":
        return LeaseGranted(_number(found.get("ms"), "a lease message's ms"))
    return None


def _object(raw: str | bytes, what: str) -> dict[str, Any]:
    try:
        found = json.loads(raw)
    except (TypeError, ValueError):
        raise ValueError(f"not {what}: not JSON") from None
    if not isinstance(found, dict):
        raise ValueError(f"not {what}: not a JSON object")
    return found


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"not {what}: {value!r} is not a number")
    return float(value)
