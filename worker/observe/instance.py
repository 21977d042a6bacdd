"""What this replica says about itself: identity, latest health figures, runs in flight."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker.protocol import format_instant
from worker.version import __version__

if TYPE_CHECKING:
    from worker.schedule.definitions import TaskDefinition


class InstanceState:
    """Services (the health check) add figures; the context plugs in next fires and runs."""

    def __init__(self, instance_id: str, version: str = __version__) -> None:
        self.id = instance_id
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.version = version
        self.started_at = format_instant(datetime.now(UTC), precise=True)
        self.health: dict[str, Any] = {}
        """The health check's figures (RSS, CPU, loop lag, Redis ping), when it has run."""
        self._cpu = CpuMeter()
        self.next_fires: Callable[[], dict[str, str | None]] = dict
        self.running: Callable[[], dict[str, str]] = dict
        self.roles: tuple[str, ...] = ()
        self.loop_blocked_max_ms = 0.0
        """The longest the event loop was held by a task since start (worker.observe.loop)."""
        self.catalog: dict[str, Any] = {}
        """What this replica runs, for readers without the application (the dashboard): its
        tasks (schedule, timezone, scope, time limit, disabled, recover: what replicas running
        one task must agree on), queues and trigger targets."""

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "hostname": self.hostname,
            "pid": self.pid,
            "version": self.version,
            "started_at": self.started_at,
            "heartbeat_at": format_instant(datetime.now(UTC), precise=True),
            "next_fires": self.next_fires(),
            "running": self.running(),
            "health": self.health,
            "process": self.process_figures(),
            "roles": list(self.roles),
            "loop_blocked_max_ms": self.loop_blocked_max_ms,
            **self.catalog,
        }

    def process_figures(self) -> dict[str, float | None]:
        """This process's RSS now and its CPU use since the previous call (since this state
        was made, the first time): every record carries them, whether or not a health check
        runs, and from the first beat."""
        return {"rss_mb": _rss_mb(), "cpu_percent": self._cpu.percent()}


class CpuMeter:
    """This process's CPU use, in percent of one core, between one reading and the next."""

    def __init__(self) -> None:
        self._mark = (time.monotonic(), time.process_time())

    def percent(self) -> float:
        """The use since the previous call (since the meter was made, the first time)."""
        wall, cpu = time.monotonic(), time.process_time()
        last_wall, last_cpu = self._mark
        self._mark = (wall, cpu)
        return round(100 * (cpu - last_cpu) / max(wall - last_wall, 1e-6), 1)


def _rss_mb() -> float | None:
    """Resident memory from /proc (a read, no psutil import on the start-up path); None on a
    system without it."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024), 1)


def describe_app(
    definitions: Iterable[TaskDefinition],
    *,
    queues: Sequence[str],
    queue_prefix: str,
    targets: Sequence[str],
) -> dict[str, Any]:
    """The instance record's catalogue (`InstanceState.catalog`)."""
    return {
        "tasks": {
            d.name: {
                "schedule": d.describe(),
                "scope": d.scope,
                "timezone": str(d.timezone),
                "time_limit": d.time_limit or None,
                "disabled": d.disabled,
                "recover": d.recover,
            }
            for d in definitions
        },
        "queues": list(dict.fromkeys(queues)),
        "queue_prefix": queue_prefix,
        "targets": list(targets),
    }
