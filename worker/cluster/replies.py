"""What the claim scripts are asked and answer (worker.cluster.claims makes the calls)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from worker.connect.redis import text
from worker.protocol import ClaimResult, TakenOver, token_of_claim_key


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    task: str
    at_ms: int
    fire_id: str
    recover: bool
    manual: str | None
    held: bool = False
    """This replica holds a lease of the task (a run going on, or its end on the way): a
    live lease of its own is that run's. Otherwise such a lease is an orphan (a claim whose
    reply was lost in an outage), claimed over and folded."""
    ahead_ms: int = 0
    """How far ahead of its instant the claim is sent (by this replica's clock): CLAIM_SKEW
    is held against the clocks' difference, not against the lead."""

    @classmethod
    def taken(cls, takeover: TakenOver) -> ClaimRequest:
        """The claim a taken-over fire stands for (a manual one keeps its token)."""
        return cls(takeover.task, takeover.at_ms, takeover.fire_id, True, takeover.manual)


@dataclass(frozen=True, slots=True)
class LeaseEnd:
    request: ClaimRequest
    outcome: str
    newest: tuple[int, str] | None
    """The newest fire the run stood for (a fold moves the mark there); None: manual."""


@dataclass(frozen=True, slots=True)
class ClaimReply:
    status: ClaimResult
    """`won`, or why it was refused."""
    previous_mark: int
    owner: str
    abandoned: str = ""
    """`won` over a dead claimer's recoverable fire nobody had taken over yet: its id (this
    run stands for it, counted in `missed`; recovery will not run it)."""
    abandoned_at: int = 0
    failures: int = 0
    """The task's failed runs in a row, fleet-wide, before this fire."""
    record: bool = False
    """`busy`: this replica records the refused fire (`skipped`, overlap); the owner does
    not schedule the task (it would fold and record it) and no other refuser has."""


@dataclass(frozen=True, slots=True)
class Look:
    """What one look at the expired leases found (`ClaimStore.take_over`)."""

    taken: list[TakenOver]
    wait: float | None
    """Seconds until the next lease deadline (None: no lease held anywhere)."""
    left: dict[str, float]
    """Expired leases of tasks this replica's application lacks: task → seconds expired."""
    abandoned: list[TakenOver]
    """Fires taken over CLAIM_MAX_RECOVERIES times already, now ended `abandoned`: this
    replica records them."""


def reply_of(raw: Any) -> ClaimReply:
    abandoned = text(raw[3]) if len(raw) > 3 else ""
    at = int(raw[4]) if abandoned else 0
    failures = int(raw[5]) if len(raw) > 5 else 0
    record = len(raw) > 6 and text(raw[6]) == "1"
    status = ClaimResult(text(raw[0]))
    return ClaimReply(status, int(raw[1]), text(raw[2]), abandoned, at, failures, record)


def taken_over_of(raw: Any) -> TakenOver:
    manual = token_of_claim_key(text(raw[3])) if raw[3] else None
    return TakenOver(text(raw[0]), text(raw[1]), int(raw[2]), manual, text(raw[4]))
