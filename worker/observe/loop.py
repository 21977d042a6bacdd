"""The event loop's own watch: a task that blocks it (a `time.sleep`, a CPU-bound loop, a
synchronous driver in an `async def`) is named in a WARNING and counted.

A loop callback beats every BEAT seconds; a beat later than BLOCKED says how long the loop
was held. A thread looks meanwhile, so the line names what held it: the asyncio task the
loop was running when the beat was already BLOCKED late (a run's task is its task's name).
The stalls are kept a while, so the lease keeper can tell a run that went on too long from
one that was only held up by another task (`held_by_others`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Sequence

from loguru import logger
from typing_extensions import override

from worker.lifecycle import Service
from worker.observe.instance import InstanceState
from worker.run.records import RunListener
from worker.run.runner import RUN_TASK_PREFIX

BEAT = 0.5
"""Seconds between the loop's beats (and the watching thread's looks)."""
BLOCKED = 1.0
"""A beat this many seconds late is a blocked loop: logged, counted."""
STALLS_KEPT = 256
"""Stalls of BEAT or more remembered (the oldest forgotten first)."""


class LoopWatch(Service):
    """Every command's loop (started with the application)."""

    def __init__(self, instance: InstanceState, listeners: Sequence[RunListener]) -> None:
        self._stalls: deque[tuple[float, float, str | None]] = deque(maxlen=STALLS_KEPT)
        self._instance = instance
        self._listeners = tuple(listeners)
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0
        self._culprit: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @override
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._due = loop.time() + BEAT
        self._handle = loop.call_at(self._due, self._beat, loop)
        self._stop.clear()
        self._thread = threading.Thread(target=self._look, args=(loop,), daemon=True)
        self._thread.name = "loop-watch"
        self._thread.start()

    @override
    async def close(self, timeout: float) -> None:
        self._stop.set()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def held_by_others(self, task: str, since: float) -> float:
        """Seconds since `since` (monotonic) the loop was held by anything but `task`'s run
        (a stall going on now included, its holder counted as another until seen). Called
        from the lease keeper's thread."""
        now = time.monotonic()
        stalls = list(self._stalls)
        due, culprit = self._due, self._culprit
        if now - due >= BEAT:
            stalls.append((due - BEAT, now, culprit))
        return sum(
            max(min(end, now) - max(start, since), 0.0)
            for start, end, holder in stalls
            if holder != task and end > since
        )

    def _beat(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        late = now - self._due
        if late >= BEAT:  # since the beat before this one was due, at the most
            self._stalls.append((self._due - BEAT, now, self._culprit))
        if late >= BLOCKED:
            self._blocked(late)
        self._culprit = None
        self._due = now + BEAT
        self._handle = loop.call_at(self._due, self._beat, loop)

    def _look(self, loop: asyncio.AbstractEventLoop) -> None:
        """The thread: while the beat is BLOCKED late, note the task the loop is running."""
        while not self._stop.wait(BEAT):
            if self._culprit is None and time.monotonic() - self._due >= BEAT:
                self._culprit = _running(loop)

    def _blocked(self, seconds: float) -> None:
        task = self._culprit or "unknown"
        logger.bind(task=task, seconds=round(seconds, 1)).warning("event loop blocked")
        millis = round(seconds * 1000, 1)
        self._instance.loop_blocked_max_ms = max(self._instance.loop_blocked_max_ms, millis)
        for listener in self._listeners:
            try:
                listener.on_loop_blocked(task, seconds)
            except Exception as exc:
                logger.opt(exception=exc).error("run listener failed")


def _running(loop: asyncio.AbstractEventLoop) -> str | None:
    """The name of the task `loop` runs now (read from another thread), a run's as its task."""
    try:
        current = asyncio.current_task(loop)
    except RuntimeError:
        return None
    if current is None:
        return None
    name = current.get_name()
    return name.removeprefix(RUN_TASK_PREFIX)
