"""Owning background work: cancel until done, run plain code in a daemon thread."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import threading
from collections.abc import Callable, Iterable
from typing import Any


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


async def run_in_thread(method: Callable[[], Any]) -> Any:
    """Run plain code in a daemon thread (with the caller's context, so current_fire works).

    Not asyncio.to_thread: its pool threads are joined at exit, so a stuck plain method
    would hold the process past the shutdown deadline.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(result: Any, error: BaseException | None) -> None:
        if done.cancelled():
            if inspect.iscoroutine(result):
                result.close()  # nobody will await it: no "never awaited" warning
            return
        if error is None:
            done.set_result(result)
        else:
            done.set_exception(error)

    def target() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = context.run(method)
        except BaseException as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed while an abandoned run went on
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=target, name="worker-task", daemon=True).start()
    return await done


async def call_method(method: Callable[[], Any], *, is_async: bool | None = None) -> None:
    """Call a task method or hook: async ones on the loop, plain ones in a thread.

    A plain callable (a lambda, a wrapper) that returns an awaitable has it awaited here,
    on the loop, so its work is done and its errors count before the run is recorded.
    """
    if is_async is None:
        is_async = inspect.iscoroutinefunction(method)
    result = method() if is_async else await run_in_thread(method)
    if inspect.isawaitable(result):
        await result


async def wait_for_all(
    pending: set[asyncio.Future[Any]], timeout: float, force: asyncio.Event | None = None
) -> set[asyncio.Future[Any]]:
    """Wait up to `timeout` seconds for every one of `pending`, or until `force` is set;
    those still pending then."""
    pending = set(pending)
    forced = asyncio.ensure_future(force.wait()) if force is not None else None
    deadline = asyncio.get_running_loop().time() + max(timeout, 0)
    try:
        while pending and not (forced and forced.done()):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            waiters = pending | ({forced} if forced else set())
            done, _ = await asyncio.wait(waiters, timeout=remaining, return_when="FIRST_COMPLETED")
            pending -= done
    finally:
        if forced is not None:
            forced.cancel()
    return pending
