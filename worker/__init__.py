"""crypto-stats-worker's framework: scheduled task methods on container-wired services."""

from __future__ import annotations

__version__ = "0.1.0"

from worker.decorators import cron, interval, timeout
from worker.fire import Fire, current_fire
from worker.schedules import CronExpression

__all__ = [
    "CronExpression",
    "Fire",
    "__version__",
    "cron",
    "current_fire",
    "interval",
    "timeout",
]
