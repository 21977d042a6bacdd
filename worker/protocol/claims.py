"""What the claim scripts answer and write, as the Python side reads it.

A claim's reply names a `ClaimResult`. A manual fire's claim key (`<tag>:manual:<token>`)
holds a `ManualClaim`: `busy:<owner>` (folded into the run in progress there),
`claimed:<owner>`, then `done:<outcome>` (its owner then under `<key>:owner`). The Lua text
(worker/cluster/scripts.py) is built from these same constants.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from worker.protocol.fires import MANUAL


class ClaimResult(StrEnum):
    """A claim's answer: `won`, or why it was refused."""

    WON = "won"
    STALE = "stale"
    """Not newer than the task's mark."""
    BUSY = "busy"
    """A live lease: the previous fire still runs."""
    EARLY = "early"
    """Beyond CLAIM_SKEW ahead of Redis's clock."""
    TAKEN = "taken"
    """A manual fire another replica has claimed."""


class ManualState(StrEnum):
    BUSY = "busy"
    CLAIMED = "claimed"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class ManualClaim:
    """A manual fire's claim: its state and the owner (busy, claimed) or outcome (done)."""

    state: ManualState
    detail: str

    @property
    def owner(self) -> str | None:
        return None if self.state is ManualState.DONE else self.detail or None

    @property
    def outcome(self) -> str | None:
        return self.detail if self.state is ManualState.DONE else None

    def encode(self) -> str:
        return f"{self.state}:{self.detail}"

    @classmethod
    def parse(cls, text: str) -> ManualClaim:
        """The claim key's value (ValueError for anything else)."""
        state, sep, detail = text.partition(":")
        try:
            kind = ManualState(state)
        except ValueError:
            kind = None
        if kind is None or not sep:
            raise ValueError(f"not a manual claim: {text!r}")
        return cls(kind, detail)


def manual_claim_key(tag: str, token: str) -> str:
    """The key a manual fire's claim is written to (`tag`: the claims' hash-tagged prefix)."""
    return f"{tag}:{MANUAL}:{token}"


def manual_owner_key(tag: str, token: str) -> str:
    """Where a manual fire's owner is kept once its claim says `done:<outcome>`."""
    return f"{manual_claim_key(tag, token)}:owner"


def token_of_claim_key(key: str) -> str | None:
    """The token of a manual claim's key (as a claim hash's `manual` field holds it)."""
    head, sep, token = key.rpartition(f":{MANUAL}:")
    return token if sep and head and token and ":" not in token else None


@dataclass(frozen=True, slots=True)
class TakenOver:
    """A fire whose claimer died mid-run, now this replica's: it travels with the fire
    (`Fire.takeover`), so the gate admits it on the lease taken over."""

    task: str
    fire_id: str
    """The id it was claimed under (the lease's; the fire made here may differ)."""
    at_ms: int
    manual: str | None
    """A manual fire's token (its claim key is kept up to date too)."""
    previous_owner: str
