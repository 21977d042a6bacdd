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
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from worker import __version__
from worker.clients import COMMAND_TIMEOUT, command_deadline
from worker.errors import ConfigError
from worker.fire import format_instant
from worker.lifecycle import cancel_and_wait
from worker.outage import OutageMonitor, describe_error, is_connection_error

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
        self._file_failing = False

    def start(self) -> None:
        self._touch_logged()
        self._task = asyncio.create_task(self._loop(), name="heartbeat")

    def touch(self) -> None:
        self._file.parent.mkdir(parents=True, exist_ok=True)
        self._file.write_text(f"{self._state.id} {time.time():.3f}\n")

    def _touch_logged(self) -> None:
        """At run time a failed touch is logged (once per streak), never fatal."""
        try:
            self.touch()
        except OSError as exc:
            if not self._file_failing:
                logger.bind(file=str(self._file), error=describe_error(exc)).error(
                    "heartbeat file not written"
                )
            self._file_failing = True
            return
        if self._file_failing:
            logger.bind(file=str(self._file)).warning("heartbeat file written again")
        self._file_failing = False

    async def beat(self) -> None:
        """Write the instance record now (also called by the health check after new figures)."""
        payload = json.dumps(self._state.snapshot())
        try:
            async with command_deadline(min(max(self._interval, 1.0), COMMAND_TIMEOUT)):
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
        with contextlib.suppress(OSError):
            self._file.unlink()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(max(timeout, 0.01)):
                await self._redis.delete(self._key)

    async def _loop(self) -> None:
        while True:
            await self.beat()
            await asyncio.sleep(self._interval)
            self._touch_logged()


def check_writable(path: Path) -> None:
    """Fail with a one-line ConfigError when the heartbeat file could not be written.

    Probes for real (os.access says yes to root): opens an existing file for appending,
    or creates and removes a file where the missing part of the path would be made.
    """
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "is a directory")
        if path.exists():
            with path.open("a"):
                pass
            return
        base = next((parent for parent in path.parents if parent.exists()), Path("."))
        handle, probe = tempfile.mkstemp(dir=base, prefix=".worker-probe-")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"HEARTBEAT_FILE: cannot write {path}: {exc.strerror}") from None
