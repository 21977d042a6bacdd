"""Daily: delete run history older than the retention period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loguru import logger

from worker import RunHistory, cron

BATCH = 1000


class CleanupTasks:
    def __init__(self, history: RunHistory, retention_days: int) -> None:
        self._history = history
        self._retention_days = retention_days

    @cron("0 3 * * *", name="cleanup", time_limit="10m")
    async def purge_history(self) -> None:
        cutoff = datetime.now(UTC) - timedelta(days=self._retention_days)
        deleted = await self._history.delete_older_than(cutoff, batch=BATCH)
        logger.bind(task="cleanup", deleted=deleted, retention_days=self._retention_days).info(
            "history cleaned"
        )
