"""Fire ids: `<task>:<instant>` for a scheduled fire, `<task>:manual:<token>` for one asked
for by hand (`worker trigger`, `run-task`, `enqueue`). Formatted and parsed only here."""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from typing_extensions import override

MANUAL = "manual"
"""The word between a manual fire's task and its token (also in its claim's key)."""
_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?Z")
_SCHEDULED_ID = re.compile(rf"(?P<task>.+):(?P<instant>{_INSTANT.pattern})")
_MANUAL_ID = re.compile(rf"(?P<task>.+):{MANUAL}:(?P<token>[^:\s]+)")


def format_instant(moment: datetime, *, precise: bool) -> str:
    """ISO 8601 UTC with a `Z`; milliseconds only when the schedule is finer than a second."""
    moment = moment.astimezone(UTC)
    text = moment.replace(tzinfo=None, microsecond=0).isoformat()
    return f"{text}.{moment.microsecond // 1000:03d}Z" if precise else f"{text}Z"


def _instant_of(text: str) -> datetime:
    """An instant as `format_instant` writes it (ValueError for anything else)."""
    if not _INSTANT.fullmatch(text):
        raise ValueError(f"not an instant of a fire id: {text!r}")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def epoch_instant(seconds: float) -> str | None:
    """Epoch seconds as `format_instant` writes them (milliseconds when they have some);
    None for a number no datetime holds."""
    if not math.isfinite(seconds):
        return None
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return format_instant(moment, precise=moment.microsecond != 0)


def scheduled_id(task: str, instant: str) -> str:
    """A scheduled fire's id; `instant` from `format_instant`."""
    return f"{task}:{instant}"


def manual_id(task: str, token: str) -> str:
    """A manual fire's id: its token names it (one claim fleet-wide per token)."""
    return f"{task}:{MANUAL}:{token}"


def new_token() -> str:
    """A fresh manual fire's token."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class FireId:
    """A fire id taken apart: a task and either its instant or its manual token."""

    task: str
    instant: str | None = None
    token: str | None = None

    @property
    def manual(self) -> bool:
        return self.token is not None

    @property
    def at(self) -> datetime | None:
        """The scheduled instant (None: a manual fire, named by its token only)."""
        return None if self.instant is None else _instant_of(self.instant)

    @override
    def __str__(self) -> str:
        if self.token is not None:
            return manual_id(self.task, self.token)
        return scheduled_id(self.task, self.instant or "")


def parse_fire_id(text: str) -> FireId:
    """A fire id as `scheduled_id` or `manual_id` made it (ValueError for anything else)."""
    found = _SCHEDULED_ID.fullmatch(text)
    if found is not None:
        return FireId(found["task"], instant=found["instant"])
    found = _MANUAL_ID.fullmatch(text)
    if found is not None:
        return FireId(found["task"], token=found["token"])
    raise ValueError(f"not a fire id: {text!r}")


def manual_token(fire_id: str) -> str | None:
    """The token of a manual fire's id; None for any other id."""
    found = _MANUAL_ID.fullmatch(fire_id)
    return None if found is None else found["token"]


def is_manual(fire_id: str) -> bool:
    """Whether the id names a manual fire."""
    return manual_token(fire_id) is not None
