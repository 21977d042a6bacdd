"""The subscriber's JSON lines, read incrementally while it is still writing them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Message:
    channel: str
    received: float
    scheduled: float

    @property
    def second(self) -> int:
        """The scheduled whole second (Unix time) this message stands for."""
        return round(self.scheduled)

    @property
    def lag_ms(self) -> float:
        return (self.received - self.scheduled) * 1000


def parse_instant(text: str) -> float:
    """Unix time of an ISO 8601 UTC stamp such as `2026-11-24T10:15:00Z` or `…00.000Z`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class MessageLog:
    """Every message received so far; `refresh()` reads what the subscriber appended since."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self._partial = b""
        self.messages: list[Message] = []
        self.invalid = 0

    def refresh(self) -> None:
        if not self._path.exists():
            return
        with self._path.open("rb") as stream:
            stream.seek(self._offset)
            chunk = stream.read()
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            self._add(line)

    def _add(self, line: bytes) -> None:
        try:
            record = json.loads(line)
            payload = json.loads(record["data"])
            scheduled = parse_instant(payload["scheduled_for"])
        except (ValueError, KeyError, TypeError):
            self.invalid += 1
            return
        self.messages.append(Message(record["channel"], float(record["received"]), scheduled))

    def of(self, channel: str) -> list[Message]:
        return [message for message in self.messages if message.channel == channel]

    def first_after(self, channel: str, since: float) -> Message | None:
        """The first message of `channel` received at or after `since`."""
        return next(
            (m for m in self.messages if m.channel == channel and m.received >= since), None
        )

    def count_in(self, channel: str, seconds: range) -> int:
        return sum(1 for m in self.messages if m.channel == channel and m.second in seconds)
