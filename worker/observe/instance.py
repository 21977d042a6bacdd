"""What this replica says about itself: identity, latest health figures, runs in flight."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker import __version__
from worker.run.fire import format_instant

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
        self.next_fires: Callable[[], dict[str, str | None]] = dict
        self.running: Callable[[], dict[str, str]] = dict
        self.roles: tuple[str, ...] = ()
        self.catalog: dict[str, Any] = {}
        """What this replica runs, for readers without the application (the dashboard): its
        tasks (schedule, scope, time limit, disabled), queues and trigger targets."""

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
            "roles": list(self.roles),
            **self.catalog,
        }


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
            }
            for d in definitions
        },
        "queues": list(dict.fromkeys(queues)),
        "queue_prefix": queue_prefix,
        "targets": list(targets),
    }
