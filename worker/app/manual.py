"""Why a manual fire (`run-task`, `enqueue`) did not run here: one line naming the owner."""

from __future__ import annotations

from typing import Any

from loguru import logger

from worker.app.hooks import resolve_provided
from worker.connect.errors import describe_error
from worker.run.records import RunRecord

_WHY = {"busy": "another replica is running the task", "taken": "already claimed"}


async def explain_refusal(container: Any, record: RunRecord | None) -> None:
    """A manual fire whose claim was refused is recorded nowhere: say so, with the owner."""
    if record is None or record.outcome != "skipped" or record.error is not None:
        return
    token = record.fire_id.rpartition(":manual:")[2]
    state = ""
    try:
        redis = await resolve_provided(container.redis())
        keys = await resolve_provided(container.keys())
        raw = await redis.get(keys.manual_claim(token)) if token else None
        state = raw.decode() if isinstance(raw, bytes) else str(raw or "")
    except Exception as exc:
        state = f"unknown:{describe_error(exc)}"
    status, _, owner = state.partition(":")
    why = _WHY.get(status, "its claim was refused")
    logger.bind(task=record.task, fire=record.fire_id, claim=status or "refused").bind(
        owner=owner or "unknown"
    ).warning(f"run not started: {why} (owner {owner or 'unknown'})")
