"""`python -m worker`: argv → settings → application → command; errors become exit codes.

Exit codes: 0 ok, 1 failure, 2 usage, 69 a required service unreachable, 78 bad configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import os
import sys
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from worker import __version__
from worker.errors import ConfigError, WorkerError

if TYPE_CHECKING:
    from worker.application import ApplicationContext
    from worker.settings import WorkerSettings

COMMANDS = {
    "run": "run the scheduler until SIGINT/SIGTERM (the default)",
    "list": "list the tasks: name, schedule, scope, time limit, next fire",
    "run-task": "run one task once, now, and exit (0 ok, 1 failed, 2 unknown task)",
    "status": "instances alive and each task's last run, from Redis (69 if unreachable)",
    "health": "exit 0 when this host's heartbeat file is fresh, 1 otherwise",
    "check": "validate settings and the application, reach Redis within 3 s",
}
APP_HELP = "the application's container as MODULE:ATTR (default: WORKER_APP or container:Container)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="worker",
        description="crypto-stats-worker: runs the scheduled task methods of an application.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--app", metavar="MODULE:ATTR", help=APP_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--app", metavar="MODULE:ATTR", help=APP_HELP, default=argparse.SUPPRESS)
        if name in ("list", "status"):
            sub.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "run-task":
            sub.add_argument("name", metavar="NAME", help="the task's name (see `list`)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Start-up allocates a lot and frees little: collecting now is wasted time. The
    # application context freezes what start-up built once it is ready (see run()).
    gc.disable()
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    # Until the settings say otherwise: loguru's default handler prints local variables
    # (a URL with its password) in tracebacks; ours never does and scrubs URL passwords.
    from worker.logs import configure_logging

    configure_logging()
    try:
        if command == "health":
            from worker.commands import health

            return health(_framework_settings())
        return _with_app(command, args)
    except WorkerError as exc:
        _fail(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception:
        from loguru import logger

        logger.opt(exception=True).critical("worker crashed")
        return 1


def _with_app(command: str, args: argparse.Namespace) -> int:
    from worker.settings import app_import_string

    app = load_application(args.app or app_import_string(), "--app" if args.app else "WORKER_APP")
    if command in ("run", "run-task"):
        from worker.logs import configure_logging

        settings = app.settings
        configure_logging(settings.log_level, settings.log_format, settings.secrets())
    if command == "run":
        _exit_now(run_loop(app.run(on_ready=_settle_memory)))
    gc.enable()
    if command == "run-task":
        app.definition(args.name)
        return run_loop(app.run_task(args.name))
    from worker import commands

    if command == "list":
        return commands.list_tasks(app, as_json=args.json)
    if command == "status":
        return run_loop(commands.status(app, as_json=args.json))
    return run_loop(commands.check(app))


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


def _framework_settings() -> WorkerSettings:
    from worker.settings import WorkerSettings, load_settings

    return load_settings(WorkerSettings)


def load_application(import_string: str, source: str = "WORKER_APP") -> ApplicationContext:
    """Import MODULE:ATTR (a DeclarativeContainer class or instance) and wrap it."""
    from worker.application import ApplicationContext
    from worker.settings import WorkerSettings

    container = _import_container(import_string, source)
    settings = container.settings()
    if not isinstance(settings, WorkerSettings):
        raise ConfigError(f"{source}: {import_string}: `settings` must provide WorkerSettings")
    return ApplicationContext(container, settings)


def _import_container(import_string: str, source: str) -> Any:
    module_name, _, attribute = import_string.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"{source}: {import_string!r} must look like MODULE:ATTR")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except WorkerError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"{source}: cannot import {import_string!r}: {type(exc).__name__}: {exc}"
        ) from None
    if isinstance(target, type):
        target = target()
    if not hasattr(target, "providers"):
        raise ConfigError(f"{source}: {import_string!r} is not a dependency-injector container")
    return target


def _fail(message: str) -> None:
    from worker.logs import scrub

    sys.stderr.write(scrub(f"worker: error: {message}".splitlines()[0], ()) + "\n")
