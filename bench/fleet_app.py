"""The application `python -m bench.fleet` runs on each replica: BENCH_TASKS tasks of
BENCH_SCOPE (cluster unless told).

Every task is due at every even second; each run notes its task and start time in memory,
and the service writes them to BENCH_OUT (JSON) at shutdown, so measuring adds no Redis
traffic to what is measured.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from dependency_injector import providers

from worker import FrameworkContainer, cron

COUNT = int(os.environ.get("BENCH_TASKS", "1000"))
SCOPE = os.environ.get("BENCH_SCOPE", "cluster")
"""`cluster`: each run once fleet-wide; `instance`: every replica runs every task."""


class ManyTasks:
    def __init__(self) -> None:
        self.starts: list[tuple[int, float]] = []

    def on_shutdown(self) -> None:
        Path(os.environ["BENCH_OUT"]).write_text(json.dumps(self.starts))


def _task(number: int) -> Callable[[ManyTasks], Coroutine[Any, Any, None]]:
    async def run(self: ManyTasks) -> None:
        self.starts.append((number, time.time()))

    run.__name__ = f"task_{number}"
    return cron("*/2 * * * * *", name=f"bench-{number}", scope=SCOPE)(run)  # type: ignore[arg-type]


for _number in range(COUNT):
    setattr(ManyTasks, f"task_{_number}", _task(_number))


class Container(FrameworkContainer):
    many = providers.Singleton(ManyTasks)
