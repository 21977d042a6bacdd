"""`python -m worker`: argv → settings → application → command; errors become exit codes.

Exit codes: 0 ok, 1 failure, 2 usage, 69 a required service unreachable, 78 bad configuration.
Nothing heavy is imported before the command is known: `health` loads almost nothing.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

APP_HELP = "the application's container as MODULE:ATTR (default: WORKER_APP or container:Container)"
SETTINGS = """\
--app (or WORKER_APP) applies to every command. Settings are environment variables (or a
.env file in the working directory): see the settings table in README.md."""
NO_APP = """\
It reads only the heartbeat file (HEARTBEAT_FILE, from the environment or a .env file in
the working directory): no application is loaded, no Redis is reached."""
EPILOG = f"""\
{SETTINGS}

Exit codes: 0 ok, 1 failure, 2 usage error, 69 a required service unreachable, 78 bad
configuration; each command's --help gives its own.

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
    """`worker`'s parser, one sub-parser per entry of the command table."""
    import argparse
    import textwrap

    from worker.cli.commands import COMMANDS
    from worker.version import __version__

    parser = argparse.ArgumentParser(
        prog="worker",
        description="crypto-stats-worker: runs the scheduled task methods of an application.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--app", metavar="MODULE:ATTR", help=APP_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.set_defaults(command="run", reload=False)  # no command: `run`
    for command in COMMANDS:
        exits = textwrap.fill(f"exit codes: {command.exits}", 88, subsequent_indent="  ")
        sub = subparsers.add_parser(
            command.name,
            help=command.summary,
            description=command.summary,
            epilog=f"{exits}\n\n{SETTINGS if command.uses_app else NO_APP}\n",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        # Accepted after the command too; not offered where it changes nothing (health).
        shown = APP_HELP if command.uses_app else argparse.SUPPRESS
        sub.add_argument("--app", metavar="MODULE:ATTR", help=shown, default=argparse.SUPPRESS)
        command.arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    probe = _health_probe(arguments)
    if probe is not None:
        from worker.cli.health import main as health

        return health(ready=probe)
    # Start-up allocates a lot and frees little: collecting now is wasted time. The
    # application context freezes what start-up built once it is ready.
    gc.disable()
    args = _parse(arguments)
    # Until the settings say otherwise: loguru's default handler prints local variables
    # (a URL with its password) in tracebacks; ours never does and scrubs URL passwords.
    from worker.cli.commands import BY_NAME
    from worker.observe.logs import configure_logging

    configure_logging()
    try:
        return BY_NAME[args.command].run(args)
    except BrokenPipeError:  # `worker list --json | head -1`: the reader has what it wanted
        return _reader_gone()
    except Exception as exc:
        return _failed(exc)
    except KeyboardInterrupt:
        return 130


def _parse(arguments: list[str]) -> argparse.Namespace:
    """The command line; a bare `worker` (the container's CMD) is `run` without building the
    parser: a dozen sub-parsers cost the start-up about 10 ms."""
    if not arguments:
        from argparse import Namespace

        return Namespace(app=None, command="run", reload=False)
    return build_parser().parse_args(arguments)


def _reader_gone() -> int:
    """Exit as a program whose reader closed the pipe does (128 + SIGPIPE), in silence: what
    is still buffered for stdout goes nowhere instead of raising again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141


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
