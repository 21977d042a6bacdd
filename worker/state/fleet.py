"""Fleet control as a client does it: pause and resume a task fleet-wide, announce a manual
fire and follow its claim. The live replicas do the rest (worker.cluster.control).

The protocol's names (worker.protocol) are re-exported here: the CLI and the dashboard read
and write the fleet's state through this module, never through raw keys or values.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from worker.connect.redis import text
from worker.protocol import (
    ClaimResult,
    ControlMessage,
    FireId,
    ManualClaim,
    ManualState,
    Pause,
    PauseEntry,
    Resume,
    TakenOver,
    Trigger,
    encode_control,
    epoch_instant,
    format_instant,
    is_manual,
    manual_id,
    manual_token,
    new_token,
    parse_fire_id,
    scheduled_id,
)
from worker.state.keys import Keys

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "ClaimResult",
    "ControlMessage",
    "FireId",
    "FleetClient",
    "ManualClaim",
    "ManualState",
    "Pause",
    "PauseEntry",
    "Resume",
    "TakenOver",
    "Trigger",
    "epoch_instant",
    "format_instant",
    "is_manual",
    "manual_id",
    "manual_token",
    "new_token",
    "parse_fire_id",
    "pause_entries",
    "pause_entry",
    "scheduled_id",
]

POLL = 0.05
"""Seconds between looks at a manual fire's claim."""
ANNOUNCE_EVERY = 0.2
"""Seconds between announcements of a manual fire while no replica listens."""


class FleetClient:
    """The pause hash, the control channel and manual claims, for one Redis and prefix."""

    def __init__(self, redis: Redis, keys: Keys, *, poll: float = POLL) -> None:
        self._redis = redis
        self._keys = keys
        self._poll = poll

    async def pause(self, task: str, seconds: float | None) -> PauseEntry:
        """Pause `task` fleet-wide for `seconds` (None: until resumed), from now."""
        now = time.time()
        until = None if seconds is None else round(now + seconds, 3)
        entry = PauseEntry(until=until, at=round(now, 3))
        await self._redis.hset(self._keys.paused, task, entry.encode())
        await self.announce(Pause(task))
        return entry

    async def resume(self, task: str) -> bool:
        """Resume `task` fleet-wide; whether it was paused."""
        removed = await self._redis.hdel(self._keys.paused, task)
        await self.announce(Resume(task))
        return bool(removed)

    async def announce(self, message: ControlMessage) -> int:
        """Publish on the control channel; how many replicas listen."""
        return int(await self._redis.publish(self._keys.control, encode_control(message)))

    async def trigger(self, task: str, token: str, *, within: float) -> bool:
        """Announce the manual fire `token` of `task` until a live replica listens; False
        when none did within `within` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while await self.announce(Trigger(task, token)) == 0:  # nobody subscribed
            if loop.time() > deadline:
                return False
            await asyncio.sleep(ANNOUNCE_EVERY)
        return True

    async def manual_claim(self, token: str) -> ManualClaim | None:
        """The manual fire's claim as it stands (None: not claimed, or not a claim)."""
        raw = await self._redis.get(self._keys.manual_claim(token))
        if raw is None:
            return None
        with contextlib.suppress(ValueError):
            return ManualClaim.parse(text(raw))
        return None

    async def claimed(self, token: str, *, within: float) -> ManualClaim | None:
        """The manual fire's claim once a replica has written it (None: not within)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() <= deadline:
            claim = await self.manual_claim(token)
            if claim is not None:
                return claim
            await asyncio.sleep(self._poll)
        return None

    async def manual_owner(self, token: str) -> str | None:
        """The replica that ran the manual fire, once its claim says `done`."""
        raw = await self._redis.get(self._keys.manual_owner(token))
        return None if raw is None else text(raw)

    async def outcome(self, task: str, token: str, claim: ManualClaim) -> str:
        """The manual fire's outcome once its run has ended: its own, or (`busy`) that of
        the run in progress it folded into; `unknown` when its claim has expired."""
        if claim.state is ManualState.BUSY:
            return await self._claim_outcome(task)
        while claim.outcome is None:
            await asyncio.sleep(self._poll)
            found = await self.manual_claim(token)
            if found is None:
                return "unknown"
            claim = found
        return claim.outcome

    async def _claim_outcome(self, task: str) -> str:
        """The outcome of the task's claimed run, once its lease is ended."""
        while True:
            done, outcome = await self._redis.hmget(self._keys.claim(task), ["done", "outcome"])
            if done is not None and text(done) == "1":
                return text(outcome) if outcome else "unknown"
            await asyncio.sleep(self._poll)


def pause_entry(raw: Any) -> PauseEntry | None:
    """A pause hash field's value; None for none, or for anything else (the replicas take
    it for no pause too)."""
    try:
        return None if raw is None else PauseEntry.decode(raw)
    except ValueError:
        return None


def pause_entries(raw: dict[Any, Any] | None) -> dict[str, PauseEntry]:
    """The pause hash: task → its entry (a field that holds none is left out)."""
    found = {text(key): pause_entry(value) for key, value in (raw or {}).items()}
    return {key: entry for key, entry in found.items() if entry is not None}
