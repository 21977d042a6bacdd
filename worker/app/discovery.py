"""Find decorated methods and lifecycle hooks on the container's provider classes.

Discovery reads `provider.cls` only; it never calls a provider, so no resource starts.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from worker.errors import DefinitionError
from worker.queues.decorators import ProcessorSpec, get_processor_spec
from worker.schedule.decorators import TaskSpec, get_spec, required_arguments

HOOKS = ("on_startup", "on_shutdown")


@dataclass(frozen=True, slots=True)
class DiscoveredTask:
    """A decorated method of a provider's class, before any override is applied."""

    name: str
    provider: str
    attribute: str
    spec: TaskSpec
    is_async: bool


@dataclass(frozen=True, slots=True)
class DiscoveredProcessor:
    """A `@processor` method of a provider's class: the handler of one queue."""

    name: str
    provider: str
    attribute: str
    spec: ProcessorSpec


@dataclass(frozen=True, slots=True)
class Discovery:
    tasks: tuple[DiscoveredTask, ...]
    services: tuple[str, ...]
    """Provider names whose classes carry tasks, processors or hooks, in declaration order."""
    processors: tuple[DiscoveredProcessor, ...] = ()


def discover(container: Any) -> Discovery:
    """Collect every task of the container; a duplicate task name is a definition error."""
    tasks: dict[str, DiscoveredTask] = {}
    services: list[str] = []
    processors: dict[str, DiscoveredProcessor] = {}
    for provider_name, cls in _provider_classes(container):
        found = False
        for attribute, member in _members(cls):
            spec = get_spec(member)
            if spec is None:
                found = _processor(processors, provider_name, attribute, member) or found
                found = found or attribute in HOOKS
                continue
            found = True
            name = spec.name or attribute.replace("_", "-")
            if name in tasks:
                other = tasks[name]
                raise DefinitionError(
                    f"task {name!r}: duplicate name "
                    f"({other.provider}.{other.attribute} and {provider_name}.{attribute})"
                )
            tasks[name] = DiscoveredTask(
                name, provider_name, attribute, spec, inspect.iscoroutinefunction(member)
            )
        if found:
            services.append(provider_name)
    return Discovery(tuple(tasks.values()), tuple(services), tuple(processors.values()))


def _processor(
    found: dict[str, DiscoveredProcessor], provider: str, attribute: str, member: Any
) -> bool:
    """Record a `@processor` method (one per queue); whether `member` was one."""
    spec = get_processor_spec(member)
    if spec is None:
        return False
    if spec.queue in found:
        other = found[spec.queue]
        raise DefinitionError(
            f"queue {spec.queue!r}: two processors "
            f"({other.provider}.{other.attribute} and {provider}.{attribute})"
        )
    name = spec.name or attribute.replace("_", "-")
    found[spec.queue] = DiscoveredProcessor(name, provider, attribute, spec)
    return True


def _provider_classes(container: Any) -> Iterator[tuple[str, type]]:
    """The class each Factory or Singleton provider builds (the others build no service)."""
    from dependency_injector import providers

    for name, provider in container.providers.items():
        if isinstance(provider, providers.Factory | providers.BaseSingleton):
            cls = provider.cls
            if inspect.isclass(cls):
                yield name, cls


def _members(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    """Functions of the class and its bases (static and class methods unwrapped), subclass
    definitions winning, in source order."""
    members: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass is object:
            continue
        members.update(vars(klass))
    for attribute, member in members.items():
        function = member.__func__ if isinstance(member, staticmethod | classmethod) else member
        if not inspect.isfunction(function):
            continue
        if isinstance(member, staticmethod) and get_spec(function) and required_arguments(function):
            raise DefinitionError(
                f"{cls.__name__}.{attribute}: a static task method takes no arguments"
            )
        yield attribute, function
