"""Find the application: import MODULE:ATTR (a container class or instance) and wrap it."""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

from worker.errors import ConfigError, WorkerError, quoted

if TYPE_CHECKING:
    from worker.app.context import ApplicationContext


def load_application(import_string: str, source: str = "WORKER_APP") -> ApplicationContext:
    """The application context of the container `import_string` names; `source` is the
    setting or flag that named it, for the one-line error."""
    from worker.app.context import ApplicationContext
    from worker.container import FrameworkContainer
    from worker.settings.base import WorkerSettings

    container = _import_container(import_string, source)
    missing = [name for name in FrameworkContainer.providers if name not in container.providers]
    if missing:
        raise ConfigError(
            f"{source}: {import_string}: the container lacks provider(s) {', '.join(missing)} "
            "(extend worker.FrameworkContainer)"
        )
    settings = container.settings()
    if not isinstance(settings, WorkerSettings):
        raise ConfigError(f"{source}: {import_string}: `settings` must provide WorkerSettings")
    return ApplicationContext(container, settings)


def _import_container(import_string: str, source: str) -> Any:
    module_name, _, attribute = import_string.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"{source}: {quoted(import_string)} must look like MODULE:ATTR")
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
    from dependency_injector.containers import is_container

    if not is_container(target):
        raise ConfigError(f"{source}: {import_string!r} is not a dependency-injector container")
    return target() if isinstance(target, type) else target
