"""Stop signals: the handler installed before is restored; a repeat within REPEAT_WINDOW is
one request, only a later one forces. Each docstring says what used to happen."""

from __future__ import annotations

import asyncio
import signal
import time
from types import FrameType

from tests.support import until
from worker.app.signals import REPEAT_WINDOW, StopSignals


async def test_stop_signals_restore_the_handler_installed_before() -> None:
    """The old context left its own (or the default) SIGTERM handler behind, so a custom
    handler installed before it was lost after the first run."""
    seen: list[int] = []

    def custom(signum: int, frame: FrameType | None) -> None:
        seen.append(signum)

    original = signal.signal(signal.SIGTERM, custom)
    try:
        for _ in range(3):
            async with StopSignals():
                assert signal.getsignal(signal.SIGTERM) is not custom
            assert signal.getsignal(signal.SIGTERM) is custom
    finally:
        signal.signal(signal.SIGTERM, original)
    assert seen == []


async def test_a_real_signal_sets_should_exit_and_only_a_late_repeat_forces(
    logs: list[str],
) -> None:
    """Raised in-process: a repeat within REPEAT_WINDOW (a process group's double delivery)
    used to set force_exit and cut the drain short; only a later one may."""
    async with StopSignals() as signals:
        signal.raise_signal(signal.SIGTERM)
        await asyncio.wait_for(signals.should_exit.wait(), 5)
        first = time.monotonic()
        assert signals.received == "SIGTERM"
        signal.raise_signal(signal.SIGTERM)
        await until(lambda: any("signal repeated" in line for line in logs), what="repeat")
        assert time.monotonic() - first < REPEAT_WINDOW, "the repeat came too late to count"
        assert not signals.force_exit.is_set()
        await until(lambda: time.monotonic() - first > REPEAT_WINDOW, what="the window")
        signal.raise_signal(signal.SIGTERM)
        await asyncio.wait_for(signals.force_exit.wait(), 5)
