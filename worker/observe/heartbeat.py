"""The heartbeat: a file `worker health` reads without Redis, and this instance's Redis record.

The file is a small JSON object (time, interval, pid, Redis state, REDIS_TIMEOUT), so the
probe needs nothing but the file: the staleness limit is the interval recorded in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger
from typing_extensions import override

from worker.concurrency import cancel_and_wait
from worker.connect.errors import describe_error, is_redis_outage
from worker.connect.outage import OutageMonitor
from worker.connect.redis import redis_deadline
from worker.errors import ConfigError
from worker.lifecycle import Service, Stage
from worker.observe.clock import ClockCheck
from worker.observe.heartbeat_file import STALE_AFTER, read_heartbeat
from worker.observe.instance import InstanceState
from worker.observe.peers import PeerWatch
from worker.state.keys import Keys

if TYPE_CHECKING:
    from redis.asyncio import Redis


INDEX_GRACE = 600
"""Seconds an id stays in the instance index after its record expired, as this replica's
clock sees it: another replica's clock may be that far off without its live id being
dropped (readers skip ids whose record is gone)."""
PEERS_EVERY = 3
"""Beats between reads of the other replicas' records (the first beat reads them)."""


class Heartbeat(Service):
    """Touches the heartbeat file and refreshes the instance record every `interval`.

    Alive means ready: it starts just before the `ready` line, and closes last."""

    stage = Stage.READY

    def __init__(
        self,
        *,
        state: InstanceState,
        redis: Redis,
        keys: Keys,
        file: Path,
        interval: float,
        redis_timeout: float,
        outage: OutageMonitor,
        clock: ClockCheck | None = None,
    ) -> None:
        self._state = state
        self._clock = clock or ClockCheck()
        self._peers = PeerWatch(state, keys, interval=interval)
        self._beats = 0
        self._redis = redis
        self._key = keys.instance(state.id)
        self._index = keys.instances
        self._file = file
        self._interval = interval
        self._redis_timeout = redis_timeout
        self._outage = outage
        self._task: asyncio.Task[None] | None = None
        self._beating = False
        self._file_failing = False

    @override
    async def start(self) -> None:
        self._warn_if_shared()
        self._beating = True
        self._touch_logged()
        self._outage.watch(self._touch_logged)  # the file tells Redis' state as it changes
        self._task = asyncio.create_task(self._loop(), name="heartbeat")

    def touch(self) -> None:
        down_since = self._outage.down_since
        content = {
            "time": round(time.time(), 3),
            "interval": self._interval,
            "pid": os.getpid(),
            "instance": self._state.id,
            "redis": "up" if down_since is None else "down",
            "redis_down_since": down_since,
            "redis_timeout": self._redis_timeout,
            # `health --ready` fails while the clock is too far ahead to claim anything
            "clock": None if self._clock.state is None else self._clock.state.value,
            "clock_offset": self._clock.offset,
            "claims_blocked": self._clock.blocked,
        }
        self._file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._file.with_name(f".{self._file.name}.{os.getpid()}")
        temporary.write_text(json.dumps(content) + "\n")
        temporary.replace(self._file)  # the probe never reads a half-written file

    def _touch_logged(self) -> None:
        """At run time a failed touch is logged (once per streak), never fatal."""
        if not self._beating:
            return
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

    def _warn_if_shared(self) -> None:
        """Two workers on one host with one HEARTBEAT_FILE make `health` lie for one of them."""
        other = read_heartbeat(self._file)
        if other is None or other.get("pid") in (None, os.getpid()):
            return
        age = time.time() - (other.get("time") or 0)
        if age > STALE_AFTER * (other.get("interval") or self._interval):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError, OverflowError, ValueError):
            os.kill(int(other["pid"]), 0)
            logger.bind(file=str(self._file), pid=other["pid"]).warning(
                "HEARTBEAT_FILE is fresh and owned by another live worker on this host: "
                "give each worker its own"
            )

    async def beat(self) -> None:
        """Write the instance record now (the loop calls it every interval); on the same
        round trip, measure the clock against Redis' `TIME`, and see whose record this one
        replaced; every PEERS_EVERY beats, compare the other replicas' definitions."""
        record = {**self._state.snapshot(), **self._clock.figures()}
        record["duplicated_with"] = self._peers.duplicate()
        ttl = math.ceil(STALE_AFTER * self._interval)
        now_ms = int(time.time() * 1000)
        peers = self._beats % PEERS_EVERY == 0
        self._beats += 1
        try:
            async with redis_deadline(max(min(self._interval, self._redis_timeout), 1.0)):
                pipe = self._redis.pipeline(transaction=False)
                pipe.time()
                pipe.set(self._key, json.dumps(record), ex=ttl, get=True)
                pipe.zadd(self._index, {self._state.id: now_ms})
                pipe.zremrangebyscore(self._index, "-inf", now_ms - (ttl + INDEX_GRACE) * 1000)
                if peers:
                    pipe.zrange(self._index, 0, -1)
                wall, start = time.time(), time.monotonic()
                replies = await pipe.execute()
                self._measured(wall, time.monotonic() - start, replies[0])
                self._peers.replaced(replies[1])
                if peers:
                    await self._peers.compare(self._redis, replies[4])
        except Exception as exc:
            if not is_redis_outage(exc):
                logger.opt(exception=exc).error("instance record not written")
            else:
                self._outage.failure(exc)
            return
        self._outage.success()

    def _measured(self, wall: float, round_trip: float, redis_time: tuple[int, int]) -> None:
        """A round trip too slow to tell (a loaded host, a blocked loop) is not a measure."""
        if round_trip / 2 > self._clock.skew / 4:
            return
        if self._clock.measured(wall, wall + round_trip, redis_time):
            self._touch_logged()  # the probe sees the change now, not a beat later

    @override
    async def close(self, timeout: float) -> None:
        """Stop beating, delete the file, and remove the record if Redis answers in time.

        A heartbeat that never started (`run-task`) touches nothing: the file may be a
        running worker's on the same host.
        """
        if self._task is None:
            return
        self._beating = False
        await cancel_and_wait([self._task], timeout)
        self._task = None
        owner = read_heartbeat(self._file)
        if owner is None or owner.get("pid") == os.getpid():  # another worker's file stays
            with contextlib.suppress(OSError):
                self._file.unlink()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(max(timeout, 0.01)):
                pipe = self._redis.pipeline(transaction=False)
                pipe.delete(self._key)
                pipe.zrem(self._index, self._state.id)
                await pipe.execute()

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
