"""Calling the services' lifecycle hooks, and settling what providers hand back."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from loguru import logger

from worker.concurrency import call_method
from worker.connect.errors import describe_error
from worker.errors import WorkerError


async def resolve_provided(value: Any) -> Any:
    """Providers that depend on an async Resource hand back an awaitable: settle it."""
    return await value if inspect.isawaitable(value) else value


async def run_hooks(hook: str, services: Sequence[object], budget: Callable[[], float]) -> None:
    """Call `hook` on each service in order, each within `budget()` seconds.

    A failing on_startup stops the start-up (one line naming it); a failing on_shutdown
    is logged and the others still run.
    """
    for service in services:
        method = getattr(service, hook, None)
        if method is None:
            continue
        name = f"{type(service).__name__}.{hook}"
        try:
            async with asyncio.timeout(budget()):
                await call_method(method)
        except Exception as exc:
            logger.opt(exception=exc).bind(hook=name).error(f"{hook} hook failed")
            if hook == "on_startup":
                raise WorkerError(f"{name} failed: {describe_error(exc)}") from None
