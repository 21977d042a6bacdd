"""Every 15 minutes, tell the API servers to refetch prices (Redis Pub/Sub trigger)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from loguru import logger

from worker import Fire, OutageMonitor, TriggerPublisher, cron, format_instant, publish_fire


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
    def __init__(self, publisher: TriggerPublisher, outage: OutageMonitor) -> None:
        self._publisher = publisher
        self._outage = outage

    @cron("*/15 * * * *", name="crypto-trigger")
    async def publish_update(self) -> None:
        payload = await publish_fire(self._publisher, update_payload, self._outage)
        logger.bind(task="crypto-trigger", fire=payload["id"]).debug("trigger published")
