"""What every trigger target is to its delivery lane: a name, a send, and what a failure means."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Message:
    """One message as a lane sends it: the payload and where it comes from."""

    fire_id: str
    at_ms: int
    """The fire's scheduled instant, ms since the epoch (a Redis Stream entry id is built on it)."""
    payload: Mapping[str, Any]

    @property
    def data(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":")).encode()


class Target(Protocol):
    """One place triggers go. `send` returns once the target has the message, raises otherwise,
    and never re-sends on its own (the lane retries)."""

    name: str

    async def prepare(self) -> None:
        """Anything to set up before the first send (the JetStream stream); may raise."""
        ...

    async def send(self, message: Message) -> None: ...

    async def probe(self) -> None:
        """A round trip that sends no message (PING, a flush): raises when there is no answer."""
        ...

    def ambiguous(self, exc: BaseException) -> bool:
        """True when the message may have landed although `send` raised (a reply timed out)."""
        ...

    def up(self) -> bool:
        """Whether a send can go out now; False skips the attempt (a refusal, not ambiguous)."""
        ...
