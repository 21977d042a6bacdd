"""This replica's identity and latest figures, and the heartbeat that publishes them.

The heartbeat file is what `worker health` reads (no Redis needed); the Redis record,
with a TTL of three intervals, is what `worker status` lists as an instance alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from worker import __version__
from worker.clients import COMMAND_TIMEOUT
from worker.fire import format_instant
from worker.lifecycle import cancel_and_wait
from worker.outage import OutageMonitor, is_connection_error

if TYPE_CHECKING:
    from redis.asyncio import Redis


class InstanceState:
    """What this replica says about itself; services (the health check) add figures."""

    def __init__(self, instance_id: str) -> None:
        self.id = instance_id
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.started_at = format_instant(datetime.now(UTC), precise=True)
        self.health: dict[str, Any] = {}
        self.next_fires: Callable[[], dict[str, str | None]] = dict

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "hostname": self.hostname,
            "pid": self.pid,
            "version": __version__,
            "started_at": self.started_at,
            "heartbeat_at": format_instant(datetime.now(UTC), precise=True),
            "next_fires": self.next_fires(),
            "health": self.health,
        }


def instance_key(key_prefix: str, instance_id: str) -> str:
    return f"{key_prefix}instance:{instance_id}"


class Heartbeat:
    """Touches the heartbeat file and refreshes the instance record every `interval`."""

    def __init__(
        self,
        *,
        state: InstanceState,
        redis: Redis,
        key_prefix: str,
        file: Path,
        interval: float,
        outage: OutageMonitor,
    ) -> None:
        self._state = state
        self._redis = redis
        self._key = instance_key(key_prefix, state.id)
        self._file = file
        self._interval = interval
        self._outage = outage
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.touch()
        self._task = asyncio.create_task(self._loop(), name="heartbeat")

    def touch(self) -> None:
        self._file.parent.mkdir(parents=True, exist_ok=True)
        self._file.write_text(f"{self._state.id} {time.time():.3f}\n")

    async def beat(self) -> None:
        """Write the instance record now (also called by the health check after new figures)."""
        payload = json.dumps(self._state.snapshot())
        try:
            async with asyncio.timeout(min(max(self._interval, 1.0), COMMAND_TIMEOUT)):
                await self._redis.set(self._key, payload, ex=math.ceil(3 * self._interval))
        except Exception as exc:
            if not is_connection_error(exc):
                logger.opt(exception=exc).error("instance record not written")
            else:
                self._outage.failure(exc)
            return
        self._outage.success()

    async def stop(self, timeout: float) -> None:
        """Stop beating, delete the file, and remove the record if Redis answers in time.

        A heartbeat that never started (`run-task`) touches nothing: the file may be a
        running worker's on the same host.
        """
        if self._task is None:
            return
        await cancel_and_wait([self._task], timeout)
        self._task = None
        with contextlib.suppress(FileNotFoundError):
            self._file.unlink()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(max(timeout, 0.01)):
                await self._redis.delete(self._key)

    async def _loop(self) -> None:
        while True:
            self.touch()
            await self.beat()
            await asyncio.sleep(self._interval)
