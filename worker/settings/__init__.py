"""Settings: the framework's class, how it is loaded, the per-task source, durations.

Names load on first use, so `worker.settings.durations` costs no pydantic import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "WorkerSettings": "worker.settings.base",
    "app_import_string": "worker.settings.loading",
    "load_settings": "worker.settings.loading",
    "task_env_key": "worker.settings.per_task",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'worker.settings' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


if TYPE_CHECKING:
    from worker.settings.base import WorkerSettings as WorkerSettings
    from worker.settings.loading import app_import_string as app_import_string
    from worker.settings.loading import load_settings as load_settings
    from worker.settings.per_task import task_env_key as task_env_key
