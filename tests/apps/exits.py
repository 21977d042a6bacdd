"""Tasks that raise what a task should not: SystemExit, KeyboardInterrupt, a BaseException.

A cluster task of each, every second: the worker must record each run `failed` and go on
(before, SystemExit ended the replica with its code and the fleet after it, one by one).
"""

from __future__ import annotations

from dependency_injector import providers

from worker import FrameworkContainer, cron


class Boom(BaseException):
    pass


class ExitingTasks:
    @cron("* * * * * *")
    async def exits(self) -> None:
        raise SystemExit(3)

    @cron("* * * * * *")
    async def interrupts(self) -> None:
        raise KeyboardInterrupt

    @cron("* * * * * *")
    def booms(self) -> None:  # a plain method: raised in its thread
        raise Boom("boom")


class Container(FrameworkContainer):
    exiting = providers.Singleton(ExitingTasks)
