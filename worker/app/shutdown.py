"""The way out: hooks in reverse, listeners flushed, heartbeat off, resources closed."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from loguru import logger

from worker.app.deadline import Deadline
from worker.connect.errors import describe_error

if TYPE_CHECKING:
    from worker.app.parts import Parts


async def close_all(parts: Parts, deadline: Deadline, force: asyncio.Event) -> None:
    """Every step bounded by what is left of `deadline` (shortened by a second signal)."""
    from worker.app.parts import run_hooks

    if force.is_set():
        deadline.force()
    await run_hooks("on_shutdown", list(reversed(parts.services.values())), deadline)
    for listener in reversed(parts.listeners):
        if hasattr(listener, "close"):
            await listener.close(deadline.share())
    await parts.heartbeat.stop(deadline.share())
    parts.orchestrator.deactivate()
    await shut_resources(parts.container, deadline)


async def shut_resources(container: Any, deadline: Deadline) -> None:
    from worker.app.parts import resolve_provided

    try:
        async with asyncio.timeout(deadline.step()):
            await resolve_provided(container.shutdown_resources())
    except Exception as exc:
        logger.bind(error=describe_error(exc)).warning("resources not closed cleanly")
