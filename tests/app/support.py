"""The application context of a container, built as the worker builds it."""

from __future__ import annotations

from typing import Any

from worker.app.context import ApplicationContext


def context_of(container: Any) -> ApplicationContext:
    return ApplicationContext(container, container.settings())
