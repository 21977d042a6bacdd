"""The one lifecycle of the worker's long-running parts: start, stop intake, close by a deadline.

A service overrides what it needs (the defaults do nothing), so no caller asks what a part
can do. The container lists the services in start order (`FrameworkContainer.services`,
then the application's `app_services`); each starts at its `stage`, and the way out closes
every one of them in reverse order, started or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import Enum
from typing import ClassVar

from loguru import logger


class Stage(Enum):
    """When a service starts. A command reaches only some stages: `run-task` and
    `WorkerTestApp` reach APP and TASKS, a processor-only replica APP and READY."""

    APP = "app"
    """With the application, before the on_startup hooks (every command)."""
    TASKS = "tasks"
    """As APP, where tasks run: not on a processor-only replica, where it is left out
    altogether (neither started nor closed)."""
    SCHEDULING = "scheduling"
    """`run` with the scheduler role, once the tasks are mounted and firing."""
    READY = "ready"
    """`run`, just before the `ready` line."""


class Service:
    """A long-running part of the worker (a container provider).

    `close` is called once on the way out, also on a service that was never started (a
    command that does not reach its stage), which then releases what it holds, if anything.
    """

    __slots__ = ()

    stage: ClassVar[Stage] = Stage.APP

    async def start(self) -> None:
        """Begin the background work. Return promptly: long waits belong to the tasks it
        starts (the start-up has one SHUTDOWN_TIMEOUT)."""

    def stop_intake(self) -> None:
        """The stop has begun (before runs drain): take no new work from outside."""

    async def close(self, timeout: float) -> None:
        """Stop within `timeout` seconds: finish or hand over what is held, then release it."""


class Services:
    """Services in start order: started a stage at a time, stopped and closed in reverse."""

    def __init__(self, services: Iterable[Service]) -> None:
        self._services = tuple(services)

    def __iter__(self) -> Iterator[Service]:
        return iter(self._services)

    def without(self, stage: Stage) -> Services:
        """These services minus those of `stage` (a command that never has that stage)."""
        return Services(s for s in self._services if s.stage is not stage)

    def at(self, *stages: Stage) -> tuple[Service, ...]:
        """The services of `stages`, in start order."""
        return tuple(s for s in self._services if s.stage in stages)

    def stop_intake(self) -> None:
        """Each service, in reverse; one that raises is logged by name and the rest go on
        (the drain must come whatever a service does)."""
        for service in reversed(self._services):
            try:
                service.stop_intake()
            except Exception as exc:
                logger.opt(exception=exc).bind(service=type(service).__name__).error(
                    "service failed to stop intake"
                )

    def closing_order(self) -> tuple[Service, ...]:
        return tuple(reversed(self._services))
