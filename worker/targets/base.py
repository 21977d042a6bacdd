"""What every trigger target is to its delivery lane: a name, a send, and what a failure means."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio
    from typing import Protocol
else:
    Protocol = object  # plain classes at run time: the default worker's memory is benchmarked


class Message:
    """One message as a lane sends it: the payload and where it comes from. `at_ms` is the
    fire's scheduled instant, ms since the epoch (a Redis Stream entry id is built on it)."""

    __slots__ = ("_data", "at_ms", "fire_id", "payload")

    def __init__(self, fire_id: str, at_ms: int, payload: Mapping[str, Any]) -> None:
        self.fire_id, self.at_ms, self.payload = fire_id, at_ms, payload
        self._data: bytes | None = None

    @property
    def data(self) -> bytes:
        """The compact JSON, encoded once (lanes sending the same message share it)."""
        if self._data is None:
            self._data = json.dumps(self.payload, separators=(",", ":")).encode()
        return self._data


class Target(Protocol):
    """One place triggers go. `send` returns once the target has the message, raises otherwise,
    and never re-sends on its own (the lane retries)."""

    name: str
    prepare_at_start: bool
    """The first prepare runs during the start-up, which a ConfigError from it ends (78: a
    refused login, a stream that cannot take the publishes); later, the same is an outage."""

    async def prepare(self) -> None:
        """Connect, and set up anything the sends need (the JetStream stream); raises when
        the target does not answer, or refuses (ConfigError). Its success is the lane's
        first connection."""
        ...

    async def send(self, message: Message) -> None: ...

    async def before_catchup(self) -> None:
        """Before a catch-up (the first send after an outage): wait, boundedly, until the
        target can hand it to someone (Pub/Sub: a subscriber); never raises."""
        ...

    async def probe(self) -> None:
        """A round trip that sends no message (PING, a flush): raises when there is no answer."""
        ...

    def ambiguous(self, exc: BaseException) -> bool:
        """True when the message may have landed although `send` raised (a reply timed out)."""
        ...

    def down(self) -> str | None:
        """Why a send cannot go out now (it is then skipped: a refusal, not ambiguous), or
        None when it can."""
        ...


class PendingFire:
    """The one undelivered fire a lane holds. `folded`: older fires of this lane it replaced,
    never delivered (added to `missed`); `maybe`: a send of it timed out (it may have landed).
    """

    __slots__ = ("catchup", "folded", "maybe", "message", "waiters")

    def __init__(self, message: Message, waiters: list[asyncio.Future[bool]]) -> None:
        self.message, self.waiters = message, waiters
        self.folded = 0
        self.maybe = False
        self.catchup = "missed" in message.payload
        """The run stood for fires kept from running (by an outage, a stall): its send is a
        catch-up. Fires this lane folds while it is busy make none: a lane waiting on a
        catch-up would fold the next fires, wait again, and never catch up."""

    def outgoing(self, maybe_delivered: str | None) -> Message:
        """The message to send now: the accepted one itself unless this lane folded fires
        into it or names a fire whose reply was lost."""
        if not self.folded and not (maybe_delivered and maybe_delivered != self.message.fire_id):
            return self.message
        message = self.message
        return Message(message.fire_id, message.at_ms, self.payload(maybe_delivered))

    def payload(self, maybe_delivered: str | None) -> dict[str, Any]:
        payload = dict(self.message.payload)
        missed = int(payload.get("missed", 0) or 0) + self.folded
        payload.pop("missed", None)
        if missed:
            payload["missed"] = missed
        if maybe_delivered and maybe_delivered != self.message.fire_id:
            payload["maybe_delivered"] = maybe_delivered
        return payload

    def resolve(self, delivered: bool) -> None:
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(delivered)
        self.waiters.clear()
