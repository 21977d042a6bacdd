"""crypto-stats-worker's framework: scheduled task methods on container-wired services."""

from __future__ import annotations

__version__ = "0.1.0"

from worker.decorators import cron, interval, timeout  # noqa: E402
from worker.fire import Fire, current_fire  # noqa: E402
from worker.schedules import CronExpression  # noqa: E402

__all__ = [
    "CronExpression",
    "Fire",
    "__version__",
    "cron",
    "current_fire",
    "interval",
    "timeout",
]
