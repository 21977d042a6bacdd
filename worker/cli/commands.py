"""Every command of `python -m worker`, each declared once: the parser and the dispatch read
this table.

A command's `run` (worker.cli.runners) imports what it needs when it is called, so that
`--help`, `--version` and `health` import none of it; those that work on the application
load it first (`on_app`), the others never do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from worker.cli import runners
from worker.cli.runners import Run, on_app

if TYPE_CHECKING:
    import argparse


def no_arguments(parser: argparse.ArgumentParser) -> None:
    """A command without arguments of its own (`--app` and `--help` are everyone's)."""


class Command(NamedTuple):
    """One command (a NamedTuple: `dataclasses` would cost `--help` and `health --help`
    a dozen more imports)."""

    name: str
    summary: str
    """One line: the command's entry in `worker --help`, and its own description."""
    exits: str
    """Its exit codes (2, a usage error, is every command's), shown in its `--help`."""
    run: Run
    arguments: Callable[[argparse.ArgumentParser], None] = no_arguments
    uses_app: bool = True
    """False: it never loads the application (`health`), and its help offers no `--app`
    (which is still accepted, before or after the command, as by every command)."""


# --- the commands' arguments -----------------------------------------------------------


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _reload(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reload", action="store_true", help="restart on save (= `worker dev`)")


def _ready(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ready", action="store_true", help="also fail while redis is unreachable")


def _task(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="TASK", help="the task's name (see `list`)")


def _run_task_name(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the task's name (see `list`)")


def _enqueue_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="QUEUE-TASK", help="the task feeding a queue (coin-sync)")
    parser.add_argument("args", metavar="ARG", nargs="*", help="what to enqueue (e.g. coins)")


def _pause_arguments(parser: argparse.ArgumentParser) -> None:
    _task(parser)
    parser.add_argument(
        "--for", dest="duration", metavar="D", help="resume by itself after D (30s, 15m, 1h)"
    )


def _trigger_arguments(parser: argparse.ArgumentParser) -> None:
    _task(parser)
    parser.add_argument(
        "--wait", action="store_true", help="wait for the run; exit 0 ok, 1 otherwise"
    )


NO_REDIS = "69 Redis unreachable"
BAD_CONFIG = "78 bad configuration"
COMMANDS: tuple[Command, ...] = (
    Command(
        "run",
        "run the scheduler until SIGINT/SIGTERM (the default)",
        f"0 after a graceful stop, 1 after a forced one (a second signal), {BAD_CONFIG}",
        runners.run,
        _reload,
    ),
    Command(
        "list",
        "list the tasks: name, schedule, scope, time limit, next fire",
        f"0, {BAD_CONFIG}",
        on_app(runners.list_tasks),
        _json,
    ),
    Command(
        "run-task",
        "run one task once, now, and exit",
        f"0 ok, 1 failed, 2 unknown task, {NO_REDIS}, {BAD_CONFIG} (or a read-only replica)",
        on_app(runners.run_task, app_logs=True),
        _run_task_name,
    ),
    Command(
        "status",
        "instances alive and each task's last run, from Redis",
        f"0, {NO_REDIS}, {BAD_CONFIG}",
        on_app(runners.status),
        _json,
    ),
    Command(
        "health",
        "exit 0 when this host's heartbeat file is fresh (--ready: and redis reachable); "
        "reads only that file",
        "0 healthy (with --ready: ready), 1 not",
        runners.health,
        _ready,
        uses_app=False,
    ),
    Command(
        "check",
        "validate settings and the application, reach Redis within 3 s",
        f"0 ok, 69 Redis or a target unreachable, {BAD_CONFIG} (a wrong password, a refused "
        "NATS login or a read-only replica too)",
        on_app(runners.check),
    ),
    Command(
        "enqueue",
        "run a queue task once now, with arguments (enqueue coin-sync bitcoin)",
        f"0 ok, 1 the task failed, 2 not a queue task, {NO_REDIS}, {BAD_CONFIG}",
        on_app(runners.enqueue),
        _enqueue_arguments,
    ),
    Command(
        "dev",
        "run, restarting on each save of a .py file under the application's directory "
        "(= run --reload; needs the reload extra)",
        "0 after Ctrl-C or SIGTERM, 78 without watchfiles",
        runners.dev,
    ),
    Command(
        "pause",
        "pause a task fleet-wide (--for D: for that long)",
        f"0 paused, 2 unknown task, {NO_REDIS}, {BAD_CONFIG}",
        on_app(runners.control("pause")),
        _pause_arguments,
    ),
    Command(
        "resume",
        "resume a paused task fleet-wide",
        f"0 resumed, 2 unknown task, {NO_REDIS}, {BAD_CONFIG}",
        on_app(runners.control("resume")),
        _task,
    ),
    Command(
        "trigger",
        "run a task now on exactly one live replica (--wait: exit with its outcome)",
        f"0 once claimed (with --wait: 0 when the run ends ok, 1 otherwise), 2 unknown task, "
        f"{NO_REDIS} or no live replica within 5 s, {BAD_CONFIG}",
        on_app(runners.control("trigger")),
        _trigger_arguments,
    ),
)
BY_NAME = {command.name: command for command in COMMANDS}
