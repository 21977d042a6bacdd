"""`python -m worker`: argv → settings → application → command; errors become exit codes.

Exit codes: 0 ok, 1 failure, 2 usage, 69 a required service unreachable, 78 bad configuration.
Nothing heavy is imported before the command is known: `health` loads almost nothing.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

COMMANDS = {
    "run": "run the scheduler until SIGINT/SIGTERM (the default)",
    "list": "list the tasks: name, schedule, scope, time limit, next fire",
    "run-task": "run one task once, now, and exit (0 ok, 1 failed, 2 unknown task, 69 no redis, "
    "78 bad config)",
    "status": "instances alive and each task's last run, from Redis (69 if unreachable)",
    "health": "exit 0 when this host's heartbeat file is fresh (--ready: and redis reachable); "
    "reads only that file",
    "check": "validate settings and the application, reach Redis within 3 s",
    "enqueue": "run a queue task once now, with arguments (enqueue coin-sync bitcoin); 0 ok, "
    "2 unknown queue task, 69 no redis",
    "dev": "run, restarting on each save of a .py file under the application's directory "
    "(= run --reload; needs the reload extra)",
    # fleet control (worker.cli.control)
    "pause": "pause a task fleet-wide (--for D: for that long); 0, 2 unknown task, 69 no redis",
    "resume": "resume a paused task fleet-wide; 0, 2 unknown task, 69 no redis",
    "trigger": "run a task now on exactly one live replica (--wait: exit with its outcome); "
    "0, 2 unknown task, 69 no replica",
}
APP_HELP = "the application's container as MODULE:ATTR (default: WORKER_APP or container:Container)"
EPILOG = """\
--app (or WORKER_APP) applies to every command. Settings are environment variables (or a
.env file in the working directory): see the settings table in README.md.

examples:
  worker                                   run the shipped application
  worker list --json                       its tasks, machine-readable
  SCHEDULE_CRYPTO_TRIGGER=1m worker run    run with one schedule changed
  worker run-task crypto-trigger           one trigger now, then exit
  worker --app myapp.container:Container status
  worker health --ready                    container readiness probe
  worker dev                               restart on save (pip install '.[reload]')
"""


def build_parser() -> argparse.ArgumentParser:
    import argparse

    from worker.version import __version__

    parser = argparse.ArgumentParser(
        prog="worker",
        description="crypto-stats-worker: runs the scheduled task methods of an application.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--app", metavar="MODULE:ATTR", help=APP_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        sub = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("--app", metavar="MODULE:ATTR", help=APP_HELP, default=argparse.SUPPRESS)
        if name in ("list", "status"):
            sub.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "run-task":
            sub.add_argument("name", metavar="NAME", help="the task's name (see `list`)")
        if name == "enqueue":
            from worker.cli.enqueue import add_arguments

            add_arguments(sub)
        if name == "run":
            sub.add_argument(
                "--reload", action="store_true", help="restart on save (= `worker dev`)"
            )
        if name == "health":
            sub.add_argument(
                "--ready", action="store_true", help="also fail while redis is unreachable"
            )
        if name in ("pause", "resume", "trigger"):
            _control_arguments(name, sub)
    return parser


def _control_arguments(name: str, sub: argparse.ArgumentParser) -> None:
    sub.add_argument("name", metavar="TASK", help="the task's name (see `list`)")
    if name == "pause":
        sub.add_argument(
            "--for", dest="duration", metavar="D", help="resume by itself after D (30s, 15m, 1h)"
        )
    if name == "trigger":
        sub.add_argument(
            "--wait", action="store_true", help="wait for the run; exit 0 ok, 1 otherwise"
        )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    probe = _health_probe(arguments)
    if probe is not None:
        from worker.cli.health import main as health

        return health(ready=probe)
    # Start-up allocates a lot and frees little: collecting now is wasted time. The
    # application context freezes what start-up built once it is ready.
    gc.disable()
    args = build_parser().parse_args(arguments)
    command = args.command or "run"
    # Until the settings say otherwise: loguru's default handler prints local variables
    # (a URL with its password) in tracebacks; ours never does and scrubs URL passwords.
    from worker.observe.logs import configure_logging

    configure_logging()
    try:
        if command == "health":
            from worker.cli.health import main as health

            return health(ready=args.ready)
        if command == "dev" or getattr(args, "reload", False):
            from worker.cli.dev import main as dev

            return dev(args.app)
        from worker.cli.commands import dispatch

        return dispatch(command, args)
    except Exception as exc:
        return _failed(exc)
    except KeyboardInterrupt:
        return 130


def _health_probe(arguments: list[str]) -> bool | None:
    """`health` or `health --ready` (with any --app, which it ignores): the fast path.
    Returns whether readiness was asked; None for any other command line."""
    rest = []
    skip = False
    for argument in arguments:
        if skip:
            skip = False
        elif argument == "--app":
            skip = True
        elif not argument.startswith("--app="):
            rest.append(argument)
    if rest == ["health"]:
        return False
    if rest == ["health", "--ready"]:
        return True
    return None


def _failed(exc: Exception) -> int:
    from worker.errors import WorkerError

    if isinstance(exc, WorkerError):
        _fail(str(exc), exc.exit_code)
        return exc.exit_code
    from loguru import logger

    logger.opt(exception=exc).critical("worker crashed")
    return 1


def _fail(message: str, exit_code: int) -> None:
    """One line on stderr, as JSON when LOG_FORMAT=json (read raw: it may be what is wrong)."""
    import json

    from worker.cli.health import env_setting
    from worker.observe.logs import now_stamp, scrub

    text = scrub(message.splitlines()[0] if message else "error", ())
    if (env_setting("LOG_FORMAT") or "").strip().lower() == "json":
        line: dict[str, Any] = {
            "time": now_stamp(),
            "level": "ERROR",
            "message": text,
            "exit_code": exit_code,
        }
        sys.stderr.write(json.dumps(line) + "\n")
    else:
        sys.stderr.write(f"worker: error: {text}\n")
