"""Signals: the first SIGINT/SIGTERM asks for a graceful stop, a second one forces it.

Handlers only set events (as uvicorn does); the application context acts on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import signal
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from loguru import logger

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Installs the handlers for the life of an `async with` block and restores them after."""

    def __init__(self) -> None:
        self.should_exit = asyncio.Event()
        self.force_exit = asyncio.Event()
        self.received: str | None = None

    async def __aenter__(self) -> StopSignals:
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            loop.add_signal_handler(sig, self.handle, sig)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)

    def handle(self, sig: signal.Signals) -> None:
        if self.should_exit.is_set():
            logger.bind(signal=sig.name).warning("second signal: cancelling runs in flight")
            self.force_exit.set()
            return
        self.received = sig.name
        self.should_exit.set()


async def cancel_and_wait(
    tasks: Iterable[asyncio.Future[Any]], timeout: float
) -> set[asyncio.Future[Any]]:
    """Cancel until each task is done or `timeout` passes; returns those still going.

    One cancel is not always enough: redis-py returns normally from a command whose
    connection was being set up when the cancel landed, so the task runs on.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(timeout, 0)
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        _, pending = await asyncio.wait(pending, timeout=min(0.05, remaining))
    return pending


async def run_in_thread(method: Callable[[], Any]) -> None:
    """Run plain code in a daemon thread (with the caller's context, so current_fire works).

    Not asyncio.to_thread: its pool threads are joined at exit, so a stuck plain method
    would hold the process past the shutdown deadline.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    context = contextvars.copy_context()

    def settle(error: BaseException | None) -> None:
        if done.cancelled():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def target() -> None:
        error: BaseException | None = None
        try:
            context.run(method)
        except BaseException as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed while an abandoned run went on
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=target, name="worker-task", daemon=True).start()
    await done
