"""What each command of `python -m worker` runs (the table in worker.cli.commands names them).

Each imports what it needs when it is called, so that `--help`, `--version` and `health`
import none of it. Those that work on the application load it first (`on_app`).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    from worker.app.context import ApplicationContext

Run = Callable[["argparse.Namespace"], int]
AppRun = Callable[["ApplicationContext", "argparse.Namespace"], int]


def on_app(run: AppRun, *, app_logs: bool = False) -> Run:
    """A command run on the application `--app` (or WORKER_APP) names, loaded first;
    `app_logs`: logs follow its LOG_LEVEL and LOG_FORMAT from then on."""

    def command(args: argparse.Namespace) -> int:
        app = load_app(args, app_logs=app_logs)
        gc.enable()  # start-up is over: collections as usual
        return run(app, args)

    return command


def load_app(args: argparse.Namespace, *, app_logs: bool) -> ApplicationContext:
    from worker.app.loader import load_application
    from worker.settings.loading import app_import_string

    app = load_application(args.app or app_import_string(), "--app" if args.app else "WORKER_APP")
    if app_logs:
        from worker.observe.logs import configure_logging

        settings = app.settings
        configure_logging(settings.log_level, settings.log_format, settings.secrets())
    return app


def run(args: argparse.Namespace) -> int:
    if args.reload:
        return dev(args)
    from worker.cli.loop import exit_now, run_loop, settle_memory

    app = load_app(args, app_logs=True)  # the collector stays off until the app is ready
    exit_now(run_loop(app.run(on_ready=settle_memory)))


def dev(args: argparse.Namespace) -> int:
    from worker.cli.dev import main as watch

    return watch(args.app)


def health(args: argparse.Namespace) -> int:
    from worker.cli.health import main as probe

    return probe(ready=args.ready)


def list_tasks(app: ApplicationContext, args: argparse.Namespace) -> int:
    from worker.cli import inspect

    return inspect.list_tasks(app, as_json=args.json)


def status(app: ApplicationContext, args: argparse.Namespace) -> int:
    from worker.cli import inspect
    from worker.cli.loop import run_loop

    return run_loop(inspect.status(app, as_json=args.json))


def check(app: ApplicationContext, args: argparse.Namespace) -> int:
    from worker.cli.check import check as check_app
    from worker.cli.loop import run_loop

    return run_loop(check_app(app))


def run_task(app: ApplicationContext, args: argparse.Namespace) -> int:
    from worker.cli.loop import run_loop

    app.definition(args.name)
    return run_loop(app.run_task(args.name))


def enqueue(app: ApplicationContext, args: argparse.Namespace) -> int:
    from worker.cli import enqueue as queue_task

    return queue_task.enqueue(app, args)


def control(name: str) -> AppRun:
    """`pause`, `resume`, `trigger`: worker.cli.control's, by name."""

    def command(app: ApplicationContext, args: argparse.Namespace) -> int:
        from worker.cli import control as fleet
        from worker.cli.loop import run_loop

        return run_loop(fleet.control(app, name, args))

    return command
