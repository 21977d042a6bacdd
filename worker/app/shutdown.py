"""The way out: hooks in reverse, listeners flushed, heartbeat off, resources closed.

Every step gets its share of what is left of the deadline, and a second signal cuts the
step in progress (and every later one) to what the forced stop allows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from loguru import logger

from worker.app.deadline import MIN_STEP, Deadline
from worker.app.hooks import resolve_provided, run_hooks
from worker.concurrency import cancel_and_wait
from worker.connect.errors import describe_error

if TYPE_CHECKING:
    from worker.app.parts import Parts


async def close_all(parts: Parts, deadline: Deadline, force: asyncio.Event) -> None:
    deadline.stop()  # counted from the signal when one came; from now otherwise
    if force.is_set():
        deadline.force()
    services = list(reversed(parts.services.values()))
    await _step(lambda: run_hooks("on_shutdown", services, deadline.share), deadline, force)
    if hasattr(parts.publisher, "close"):  # trigger lanes deliver what they hold, or log it
        await _step(lambda: parts.publisher.close(deadline.share()), deadline, force)
    for part in parts.fleet:  # control and recovery stop; the gate ends the leases it holds
        if hasattr(part, "close"):
            await _step(_closing(part, deadline), deadline, force)
    for listener in reversed(parts.listeners):
        if hasattr(listener, "close"):
            await _step(_closing(listener, deadline), deadline, force)
    await _step(lambda: parts.heartbeat.stop(deadline.share()), deadline, force)
    parts.orchestrator.deactivate()
    await shut_resources(parts.container, deadline)


async def shut_resources(container: Any, deadline: Deadline) -> None:
    try:
        async with asyncio.timeout(deadline.step()):
            await resolve_provided(container.shutdown_resources())
    except Exception as exc:
        logger.bind(error=describe_error(exc)).warning("resources not closed cleanly")


def _closing(listener: Any, deadline: Deadline) -> Callable[[], Awaitable[Any]]:
    def start() -> Awaitable[Any]:
        closing: Awaitable[Any] = listener.close(deadline.share())
        return closing

    return start


async def _step(
    start: Callable[[], Awaitable[Any]], deadline: Deadline, force: asyncio.Event
) -> None:
    """Run one closing step; a second signal during it leaves it what the forced stop has."""
    step = asyncio.ensure_future(start())
    forced = asyncio.ensure_future(force.wait())
    try:
        await asyncio.wait({step, forced}, return_when="FIRST_COMPLETED")
        if not step.done():
            deadline.force()
            await asyncio.wait({step}, timeout=deadline.remaining())
    finally:
        forced.cancel()
    if not step.done():
        await cancel_and_wait([step], MIN_STEP)
    elif not step.cancelled() and step.exception() is not None:
        error = step.exception()
        assert error is not None
        logger.opt(exception=error).error("shutdown step failed")
