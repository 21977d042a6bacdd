"""Why a manual fire (`run-task`, `enqueue`) did not run here: one line naming the owner."""

from __future__ import annotations

from typing import Any

from loguru import logger

from worker.app.hooks import resolve_provided
from worker.connect.errors import describe_error
from worker.run.records import RunRecord
from worker.state.fleet import FleetClient, ManualClaim, ManualState, manual_token

_WHY = {
    ManualState.BUSY: "another replica is running the task",
    ManualState.CLAIMED: "already claimed",
    ManualState.DONE: "already claimed",
}


async def explain_refusal(container: Any, record: RunRecord | None) -> None:
    """A manual fire whose claim was refused is recorded nowhere: say so, with the owner."""
    if record is None or record.outcome != "skipped" or record.error is not None:
        return
    token = manual_token(record.fire_id)
    claim: ManualClaim | None = None
    status, owner = "", ""
    try:
        redis = await resolve_provided(container.framework_redis())
        keys = await resolve_provided(container.keys())
        claim = await FleetClient(redis, keys).manual_claim(token) if token else None
    except Exception as exc:
        status, owner = "unknown", describe_error(exc)
    if claim is not None:
        status, owner = claim.state.value, claim.owner or ""
    why = "its claim was refused" if claim is None else _WHY[claim.state]
    logger.bind(task=record.task, fire=record.fire_id, claim=status or "refused").bind(
        owner=owner or "unknown"
    ).warning(f"run not started: {why} (owner {owner or 'unknown'})")
