"""`worker dev` (= `worker run --reload`): restart the worker when a `.py` file of the app changes.

A development tool, never in the image: `watchfiles.run_process` (the `reload` extra) runs
`python -m worker run` as a child and, when a `.py` file under the application's directory
is saved, stops it with SIGINT (its own graceful stop, given SHUTDOWN_TIMEOUT + 5 s before
SIGKILL) and starts a new one. This process never imports the application: a file that
does not import is the child's one-line exit 78, and the watcher waits for the next save.
Ctrl-C or SIGTERM stop the child the same graceful way, then this process exits 0.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import shlex
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from worker.errors import ConfigError

if TYPE_CHECKING:
    from watchfiles import Change
    from watchfiles.main import FileChange

STOP_MARGIN = 5
"""Seconds past SHUTDOWN_TIMEOUT before watchfiles gives up on SIGINT and sends SIGKILL."""
SIGKILL_TIMEOUT = 2
DEBOUNCE_MS = 1_600
"""watchfiles yields once no change came for STEP_MS: this only caps how long a burst
(a checkout, a formatter over the tree) is gathered into one restart."""
STEP_MS = 50
MISSING = "worker dev needs watchfiles: pip install -c requirements.lock '.[reload]'"
# watchfiles' own lines that repeat what the child or this module already says.
_NOISE = ("process already dead", "KeyboardInterrupt caught", "raising KeyboardInterrupt")


def main(app: str | None) -> int:
    """Watch and restart until Ctrl-C or SIGTERM; 0 then."""
    try:
        from watchfiles import run_process
    except ImportError:
        raise ConfigError(MISSING) from None
    from worker.settings.loading import app_import_string

    _configure_logging()
    import_string = app or app_import_string()
    root = app_directory(import_string)
    grace = stop_grace()
    _final_stop_grace(grace)
    logger.bind(app=import_string, path=str(root), stop_grace_s=grace).info("watching for changes")
    # Python leaves SIGINT ignored when it started so (a job a script put in the background):
    # Ctrl-C and `kill -INT` stop this process as they stop `worker run`, whatever it inherited.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # a closed terminal: as Ctrl-C
        signal.signal(signal.SIGHUP, signal.default_int_handler)
    # KeyboardInterrupt escapes run_process when the signal came as a child was stopped or
    # started (not while watching): that child was stopped on the way out all the same.
    with contextlib.suppress(KeyboardInterrupt):
        run_process(
            root,
            target=shlex.join(child_command(app)),
            target_type="command",
            callback=lambda changes: log_reload(root, changes),
            watch_filter=python_files(),
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            sigint_timeout=grace,
            sigkill_timeout=SIGKILL_TIMEOUT,
        )
    logger.info("watcher stopped")
    return 0


def child_command(app: str | None) -> list[str]:
    """`python -m worker run`, with the same --app; the environment is inherited."""
    return [sys.executable, "-m", "worker", "run", *(["--app", app] if app else [])]


def app_directory(import_string: str) -> Path:
    """The directory of the top-level module or package MODULE:ATTR names, found without
    importing it (a package's `__init__` would run); the working directory otherwise."""
    top = import_string.partition(":")[0].split(".")[0]
    cwd = Path.cwd()
    if str(cwd) not in sys.path:  # as the loader does: the working directory comes first
        sys.path.insert(0, str(cwd))
    try:
        spec = importlib.util.find_spec(top) if top else None
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).resolve()
    if spec is not None and spec.has_location and spec.origin:
        return Path(spec.origin).resolve().parent
    return cwd


def stop_grace() -> int:
    """SHUTDOWN_TIMEOUT (environment or `.env`) + STOP_MARGIN, whole seconds for watchfiles.
    A bad value is the child's one-line error; the default stands in here."""
    from worker.cli.health import env_setting
    from worker.settings.base import WorkerSettings
    from worker.settings.durations import duration_setting

    seconds: float = WorkerSettings.model_fields["shutdown_timeout"].default
    raw = env_setting("SHUTDOWN_TIMEOUT")
    if raw:
        with contextlib.suppress(ValueError):
            seconds = duration_setting(raw, positive=True)
    return math.ceil(seconds) + STOP_MARGIN


def python_files() -> Any:
    """watchfiles' default filter (no `__pycache__`, `.git`, `.venv`…), `.py` files only."""
    from watchfiles import DefaultFilter

    default = DefaultFilter()

    def accept(change: Change, path: str) -> bool:
        return path.endswith(".py") and default(change, path)

    return accept


def log_reload(root: Path, changes: set[FileChange]) -> None:
    """The one line per reload, naming the changed file(s) relative to the watched directory."""
    names = sorted({_relative(root, path) for _, path in changes})
    logger.bind(changed=",".join(names)).info("change detected: restarting the worker")


def _relative(root: Path, path: str) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


def _final_stop_grace(grace: int) -> None:
    """run_process stops its last child (after Ctrl-C or SIGTERM) with `stop()`'s defaults,
    5 s then SIGKILL, whatever `sigint_timeout` says: give that stop the reload's grace too,
    so a run in flight finishes or is cancelled at SHUTDOWN_TIMEOUT as under `worker run`."""
    from watchfiles.run import CombinedProcess

    stop: Any = CombinedProcess.stop
    stop.__defaults__ = (grace, SIGKILL_TIMEOUT)


def _configure_logging() -> None:
    """LOG_LEVEL and LOG_FORMAT read raw (the child validates the settings), watchfiles'
    stdlib lines routed into the same sink, minus those that repeat ours."""
    from worker.cli.health import env_setting
    from worker.observe.logs import configure_logging
    from worker.settings.base import LOG_LEVELS

    level = (env_setting("LOG_LEVEL") or "INFO").strip().upper()
    fmt = (env_setting("LOG_FORMAT") or "text").strip().lower()
    configure_logging(level if level in LOG_LEVELS else "INFO", "json" if fmt == "json" else "text")
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    logging.getLogger("watchfiles.main").addFilter(_drop_noise)  # the logger run_process uses


def _drop_noise(record: logging.LogRecord) -> bool:
    return not any(text in record.getMessage() for text in _NOISE)
