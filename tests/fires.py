"""What trigger messages stand for: the second of a fire, the seconds a catch-up covers."""

from __future__ import annotations

from datetime import datetime

from tests.support import Message


def second(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def covered_seconds(messages: list[Message]) -> list[int]:
    """Every scheduled second the messages stand for (a message covers itself and `missed`)."""
    seconds: list[int] = []
    for message in messages:
        newest = second(message.data["scheduled_for"])
        seconds += [newest - k for k in range(message.data.get("missed", 0), -1, -1)]
    return seconds
