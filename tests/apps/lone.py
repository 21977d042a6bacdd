"""The shipped application with `crypto-trigger` scoped to the instance.

A cluster fire waits for its claim while Redis is away (it folds in the run and never
reaches a delivery lane); the lane tests need a trigger that runs through an outage on one
worker, as an instance task does.
"""

from __future__ import annotations

from dependency_injector import providers
from typing_extensions import override

from container import Container as AppContainer
from tasks.crypto import CryptoTasks
from worker import cron


class InstanceCryptoTasks(CryptoTasks):
    @override
    @cron("*/15 * * * *", name="crypto-trigger", scope="instance")
    async def publish_update(self) -> None:
        await CryptoTasks.publish_update(self)


class Container(AppContainer):
    crypto = providers.Singleton(InstanceCryptoTasks, AppContainer.publisher)


LONE = ("--app", "tests.apps.lone:Container")
"""The arguments that run this application: crypto-trigger runs (and reaches its lanes) while
Redis is away."""
