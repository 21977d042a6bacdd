"""Signals: the first SIGINT/SIGTERM/SIGHUP asks for a graceful stop, a later one forces it.

Handlers only set events (as uvicorn does); the application context acts on them. The
handlers that were installed before are put back afterwards.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from loguru import logger

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""SIGHUP (a closed terminal, some supervisors) stops as SIGTERM does; one inherited as
ignored (`nohup`) stays ignored."""
REPEAT_WINDOW = 0.5
"""A signal sent to a process group (a shell, `timeout`) can arrive twice at once: within
this many seconds of the first, a second one is the same request, not a demand to force."""


class StopSignals:
    """Installs the handlers for the life of an `async with` block and restores them after."""

    def __init__(self) -> None:
        self.should_exit = asyncio.Event()
        self.force_exit = asyncio.Event()
        self.received: str | None = None
        self._first_at = 0.0
        self._previous: dict[signal.Signals, Any] = {}
        self.on_force: Callable[[], None] | None = None
        """Called when a later signal forces the stop (the context shortens its deadline)."""

    async def __aenter__(self) -> StopSignals:
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            previous = signal.getsignal(sig)
            if sig is signal.SIGHUP and previous is signal.SIG_IGN:
                continue
            self._previous[sig] = previous
            loop.add_signal_handler(sig, self.handle, sig)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        for sig, previous in self._previous.items():
            loop.remove_signal_handler(sig)
            if previous is not None:
                signal.signal(sig, previous)
        self._previous.clear()

    def handle(self, sig: signal.Signals) -> None:
        now = time.monotonic()
        if not self.should_exit.is_set():
            self.received = sig.name
            self._first_at = now
            self.should_exit.set()
        elif now - self._first_at < REPEAT_WINDOW:
            logger.bind(signal=sig.name).debug("signal repeated, taken as the first")
        elif not self.force_exit.is_set():
            logger.bind(signal=sig.name).warning("second signal: cancelling runs in flight")
            self.force_exit.set()
            if self.on_force is not None:
                self.on_force()
