"""Which JetStream stream the `jetstream` target publishes into, and what it may change.

The ownership rule: a stream that already captures CRYPTO_SUBJECT is published into as it is
(whoever made it); only when none does is JETSTREAM_STREAM created, with the JETSTREAM_*
settings. An existing stream is changed only with JETSTREAM_MANAGE=on, and then only the one
named JETSTREAM_STREAM. A stream that cannot take the publishes is a `StreamUnfit`: one line,
78 at start; later, an outage of the lane. Pure: `worker.targets.streams` gathers the facts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from worker.errors import ConfigError

if TYPE_CHECKING:
    from nats.js.api import StreamConfig

DUPLICATE_WINDOW = 120.0
"""JetStream de-duplicates a `Nats-Msg-Id` seen within this many seconds (at most max age)."""
MIN_MSG_SIZE = 1024
"""Bytes a stream must take per message (payload and headers): a trigger with `missed`,
`maybe_delivered` and a trace header stays well below it."""
_DROPPING = ("workqueue", "interest")
"""Retentions that keep a message only for the consumers that take it."""


class StreamUnfit(ConfigError):
    """The stream cannot take the worker's publishes, or the worker may not change it."""


@dataclass(frozen=True, slots=True)
class Wanted:
    subject: str
    stream: str
    max_age: float
    manage: bool

    @property
    def duplicate_window(self) -> float:
        return min(DUPLICATE_WINDOW, self.max_age)  # JetStream refuses a window above max age


@dataclass(frozen=True, slots=True)
class Found:
    """An existing stream: its configuration and, when its retention keeps messages only for
    consumers, each consumer's filters (an empty tuple: it takes every subject)."""

    config: StreamConfig
    consumers: tuple[tuple[str, ...], ...] = ()

    @property
    def name(self) -> str:
        return str(self.config.name)


@dataclass(frozen=True, slots=True)
class Note:
    """A WARNING the plan wants logged (once) and `check` printed."""

    event: str
    fields: dict[str, str]

    def line(self) -> str:
        return " ".join([self.event, *(f"{k}={_quoted(v)}" for k, v in self.fields.items())])


@dataclass(frozen=True, slots=True)
class Plan:
    action: Literal["use", "create", "update"]
    stream: str
    config: StreamConfig | None = None
    """What `create` or `update` sends."""
    notes: tuple[Note, ...] = ()

    def summary(self, subject: str) -> str:
        verb = {"use": "takes", "create": "to be created for", "update": "to be updated for"}
        return f"stream {self.stream} {verb[self.action]} {subject}"


def plan(wanted: Wanted, capturing: list[Found], named: Found | None) -> Plan:
    """`capturing`: the streams whose subjects match CRYPTO_SUBJECT; `named`: the stream
    called JETSTREAM_STREAM when none captures it (None when there is none)."""
    if len(capturing) > 1:
        names = ", ".join(found.name for found in capturing)
        raise StreamUnfit(f"JETSTREAM_STREAM: streams {names} all capture {wanted.subject}")
    if capturing:
        found = capturing[0]
        if found.name == wanted.stream and wanted.manage:
            return _managed(found, wanted)
        check_fit(found, wanted.subject)
        return Plan("use", found.name, notes=_foreign(found, wanted))
    if named is None:
        return Plan("create", wanted.stream, own_config(wanted))
    if not wanted.manage:
        subjects = ",".join(named.config.subjects or []) or "none"
        raise StreamUnfit(
            f"JETSTREAM_STREAM: stream {named.name} exists and does not capture "
            f"{wanted.subject} (its subjects: {subjects}); the worker changes it only with "
            "JETSTREAM_MANAGE=on (or name another stream)"
        )
    return _managed(named, wanted)


def own_config(wanted: Wanted) -> StreamConfig:
    from nats.js.api import RetentionPolicy, StreamConfig

    return StreamConfig(
        name=wanted.stream,
        subjects=[wanted.subject],
        retention=RetentionPolicy.LIMITS,
        max_age=wanted.max_age,
        duplicate_window=wanted.duplicate_window,
    )


def check_fit(found: Found, subject: str) -> None:
    """Raise StreamUnfit when `found` cannot take a publish on `subject`, saying why."""
    config, why = found.config, ""
    size = config.max_msg_size or -1
    if config.sealed:
        why = "it is sealed (it takes no message)"
    elif config.no_ack:
        why = "it acknowledges no publish (no_ack), and its ack is the delivery"
    elif 0 < size < MIN_MSG_SIZE:
        why = f"it takes messages of at most {size} bytes (a trigger needs {MIN_MSG_SIZE})"
    elif _retention(found) in _DROPPING and found.consumers and not _taken(found, subject):
        why = (
            f"its retention is {_retention(found)} and none of its consumers takes "
            f"{subject}: every trigger would be {_lost(found)}"
        )
    if why:
        raise StreamUnfit(f"JETSTREAM_STREAM: stream {found.name} cannot take {subject}: {why}")


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS matching: `*` is one token, a final `>` one or more."""
    want, have = pattern.split("."), subject.split(".")
    for k, token in enumerate(want):
        if token == ">":
            return len(have) > k
        if k >= len(have) or (token != "*" and token != have[k]):
            return False
    return len(want) == len(have)


def _managed(found: Found, wanted: Wanted) -> Plan:
    """JETSTREAM_MANAGE=on: the subject added when missing, max age and duplicate window set;
    other subjects and settings stay. Retention is JetStream's to keep (it cannot change)."""
    config = found.config
    if _retention(found) != "limits":
        raise StreamUnfit(
            f"JETSTREAM_STREAM: stream {found.name} has retention {_retention(found)}, which "
            "JetStream cannot change to limits (JETSTREAM_MANAGE=on): delete it, name another "
            "stream, or turn JETSTREAM_MANAGE off to publish into it as it is"
        )
    check_fit(found, wanted.subject)
    subjects = list(config.subjects or [])
    if not any(subject_matches(s, wanted.subject) for s in subjects):
        subjects.append(wanted.subject)
    new = dataclasses.replace(
        config,
        subjects=subjects,
        max_age=wanted.max_age,
        duplicate_window=wanted.duplicate_window,
    )
    if new == config:
        return Plan("use", found.name)
    return Plan("update", found.name, new)


def _foreign(found: Found, wanted: Wanted) -> tuple[Note, ...]:
    """What the WARNING says about a stream published into as it is."""
    fields = {"stream": found.name, "subject": wanted.subject}
    if found.name != wanted.stream:
        fields["jetstream_stream"] = wanted.stream
    differs = _differences(found, wanted)
    if differs:
        fields["differs"] = "; ".join(differs)
    notes = []
    if len(fields) > 2:
        notes.append(Note("jetstream stream used as it is", fields))
    if _retention(found) in _DROPPING and not found.consumers:
        notes.append(
            Note(
                "jetstream stream has no consumer yet",
                {"stream": found.name, "retention": _retention(found), "triggers": _waiting(found)},
            )
        )
    return tuple(notes)


def _differences(found: Found, wanted: Wanted) -> list[str]:
    config, differs = found.config, []
    if list(config.subjects or []) != [wanted.subject]:
        differs.append(f"subjects {','.join(config.subjects or [])}")
    if _retention(found) != "limits":
        differs.append(f"retention {_retention(found)}")
    if (config.max_age or 0.0) != wanted.max_age:
        differs.append(f"max_age {_age(config.max_age)} (JETSTREAM_MAX_AGE {_age(wanted.max_age)})")
    if (config.duplicate_window or 0.0) != wanted.duplicate_window:
        differs.append(f"duplicate_window {_age(config.duplicate_window)}")
    return differs


def _taken(found: Found, subject: str) -> bool:
    return any(
        not filters or any(subject_matches(f, subject) for f in filters)
        for filters in found.consumers
    )


def _retention(found: Found) -> str:
    retention = found.config.retention
    return str(getattr(retention, "value", retention) or "limits")


def _lost(found: Found) -> str:
    if _retention(found) == "interest":
        return "dropped at once"
    return "kept until max age, read by no one"


def _waiting(found: Found) -> str:
    if _retention(found) == "interest":
        return "dropped until a consumer takes them"
    return "kept until a consumer takes them"


def _age(seconds: float | None) -> str:
    if not seconds:
        return "unlimited"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _quoted(value: str) -> str:
    return f'"{value}"' if " " in value else value
