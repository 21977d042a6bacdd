"""Commands that need the application: load it, then run, run-task, list, status, check."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
from collections.abc import Coroutine
from typing import Any, NoReturn

from worker.app.loader import load_application
from worker.settings.loading import app_import_string


def dispatch(command: str, args: argparse.Namespace) -> int:
    app = load_application(args.app or app_import_string(), "--app" if args.app else "WORKER_APP")
    if command in ("run", "run-task"):
        from worker.observe.logs import configure_logging

        settings = app.settings
        configure_logging(settings.log_level, settings.log_format, settings.secrets())
    if command == "run":
        _exit_now(run_loop(app.run(on_ready=_settle_memory)))
    gc.enable()
    if command == "run-task":
        app.definition(args.name)
        return run_loop(app.run_task(args.name))
    if command in ("pause", "resume", "trigger"):
        from worker.cli.control import control

        return run_loop(control(app, command, args))
    if command == "enqueue":
        from worker.cli.enqueue import enqueue

        return enqueue(app, args)
    from worker.cli import inspect

    if command == "list":
        return inspect.list_tasks(app, as_json=args.json)
    if command == "status":
        return run_loop(inspect.status(app, as_json=args.json))
    return run_loop(inspect.check(app))


def run_loop(main: Coroutine[Any, Any, int]) -> int:
    """`asyncio.run`, except that a task ignoring cancellation cannot hold the exit."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main)
    finally:
        leftover = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in leftover:
            task.cancel()
        if leftover:
            loop.run_until_complete(asyncio.wait(leftover, timeout=1.0))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _settle_memory() -> None:
    """Move what start-up built out of the collector's way: later collections skip it."""
    gc.freeze()
    gc.enable()


def _exit_now(code: int) -> NoReturn:
    """Leave without tearing down ~500 modules (about 100 ms): everything was closed already."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
