"""`@processor(queue, concurrency=…)`: validate and attach a frozen spec; nothing else.

The application context discovers the specs at bootstrap, as it does the schedule decorators'.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from worker.errors import DefinitionError
from worker.settings.queues import CONCURRENCY_RANGE

SPEC_ATTRIBUTE = "__worker_processor__"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class ProcessorSpec:
    """What `@processor` says; `concurrency=None` means "the default (or the setting)"."""

    queue: str
    name: str | None
    concurrency: int | None


def processor(
    queue: str, *, concurrency: int | None = None, name: str | None = None
) -> Callable[[F], F]:
    """Make an async method (one argument: the job's data) the handler of `queue`'s jobs.

    `current_job()` gives the running job's id, attempt and queue; `name` (default: the
    method's name, `_` → `-`) names the processor in logs.
    """

    def attach(method: F) -> F:
        label = name or getattr(method, "__name__", "?").replace("_", "-")

        def fail(problem: str) -> DefinitionError:
            return DefinitionError(f"processor {label!r}: {problem}")

        if get_processor_spec(method) is not None:
            raise fail("a method carries one @processor only")
        if not isinstance(queue, str) or not queue.strip() or queue != queue.strip():
            raise fail("the queue name must be a non-empty string without spaces around it")
        if ":" in queue or "," in queue:
            raise fail("the queue name must not contain ':' or ','")
        if concurrency is not None and not _in_range(concurrency, CONCURRENCY_RANGE):
            low, high = CONCURRENCY_RANGE
            raise fail(f"concurrency must be an integer between {low} and {high}")
        if not inspect.iscoroutinefunction(method):
            raise fail("a processor must be an async method")
        if _required_arguments(method) != 2:
            raise fail("a processor takes one argument besides self: the job's data")
        setattr(method, SPEC_ATTRIBUTE, ProcessorSpec(queue, name, concurrency))
        return method

    return attach


def get_processor_spec(member: object) -> ProcessorSpec | None:
    spec = getattr(member, SPEC_ATTRIBUTE, None)
    return spec if isinstance(spec, ProcessorSpec) else None


def _required_arguments(method: Callable[..., Any]) -> int:
    parameters = inspect.signature(method).parameters.values()
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in parameters if p.kind in positional and p.default is p.empty)


def _in_range(value: object, bounds: tuple[int, int]) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return bounds[0] <= value <= bounds[1]
