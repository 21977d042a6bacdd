"""Every 15 minutes, tell the API servers to refetch prices (on every TRIGGER_TARGETS target)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from loguru import logger

from worker import Fire, TriggerPublisher, cron, current_fire, format_instant


def update_payload(fire: Fire) -> dict[str, Any]:
    """The trigger as the subscribers of the systems it replaces expect it."""
    payload: dict[str, Any] = {
        "trigger": "update",
        "event": "CRYPTO_UPDATE",
        "timestamp": format_instant(datetime.now(UTC), precise=True),
        "scheduled_for": fire.stamp,
        "id": fire.id,
    }
    if fire.missed:
        payload["missed"] = fire.missed
    return payload


class CryptoTasks:
    def __init__(self, publisher: TriggerPublisher) -> None:
        self._publisher = publisher

    @cron("*/15 * * * *", name="crypto-trigger")
    async def publish_update(self) -> None:
        payload = update_payload(current_fire())
        await self._publisher.publish(payload)  # every target's lane delivers it
        logger.bind(task="crypto-trigger", fire=payload["id"]).debug("trigger handed over")
