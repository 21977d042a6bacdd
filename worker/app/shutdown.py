"""The steps of the way out, each within its share of the one deadline.

A second signal cuts the step in progress (and every later one) to what the forced stop
allows. `Parts.close` puts them in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger

from worker.app.deadline import MIN_STEP, Deadline
from worker.app.hooks import resolve_provided
from worker.concurrency import cancel_and_wait
from worker.connect.errors import describe_error
from worker.lifecycle import Service


async def shut_resources(container: Any, deadline: Deadline) -> None:
    try:
        async with asyncio.timeout(deadline.step()):
            await resolve_provided(container.shutdown_resources())
    except Exception as exc:
        logger.bind(error=describe_error(exc)).warning("resources not closed cleanly")


def closing(service: Service, deadline: Deadline) -> Callable[[], Awaitable[None]]:
    """A step closing `service` within its share of the deadline, taken when the step starts."""

    def start() -> Awaitable[None]:
        return service.close(deadline.share())

    return start


async def step(
    start: Callable[[], Awaitable[object]], deadline: Deadline, force: asyncio.Event
) -> None:
    """Run one closing step; a second signal during it leaves it what the forced stop has."""
    running = asyncio.ensure_future(start())
    forced = asyncio.ensure_future(force.wait())
    try:
        await asyncio.wait({running, forced}, return_when="FIRST_COMPLETED")
        if not running.done():
            deadline.force()
            await asyncio.wait({running}, timeout=deadline.remaining())
    finally:
        forced.cancel()
    if not running.done():
        await cancel_and_wait([running], MIN_STEP)
    elif not running.cancelled() and running.exception() is not None:
        error = running.exception()
        assert error is not None
        logger.opt(exception=error).error("shutdown step failed")
