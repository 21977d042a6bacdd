"""The application's object graph: the framework's, plus its settings and task services."""

from __future__ import annotations

from dependency_injector import containers, providers

from config import Settings
from tasks.cleanup import CleanupTasks
from tasks.crypto import CryptoTasks
from tasks.health import HealthTasks
from worker import FrameworkContainer, RedisTriggerPublisher, load_settings


@containers.copy(FrameworkContainer)  # the framework's providers read these settings too
class Container(FrameworkContainer):
    settings = providers.Singleton(load_settings, Settings)

    publisher = providers.Singleton(
        RedisTriggerPublisher, FrameworkContainer.redis, channel=settings.provided.crypto_channel
    )
    crypto = providers.Singleton(CryptoTasks, publisher, FrameworkContainer.outage)
    health = providers.Singleton(
        HealthTasks,
        FrameworkContainer.redis,
        FrameworkContainer.instance,
        FrameworkContainer.outage,
        memory_limit_mb=settings.provided.health_memory_limit_mb,
    )
    cleanup = providers.Singleton(
        CleanupTasks,
        FrameworkContainer.run_history,
        retention_days=settings.provided.cleanup_retention_days,
    )
