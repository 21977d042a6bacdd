"""The application's object graph: one provider per line, nothing but declarations."""

from __future__ import annotations

from dependency_injector import containers, providers

from config import Settings
from tasks.cleanup import CleanupTasks
from tasks.crypto import CryptoTasks
from tasks.health import HealthTasks
from worker.clients import redis_resource
from worker.history import RunHistory
from worker.instance import InstanceState
from worker.outage import OutageMonitor
from worker.registry import SchedulerRegistry
from worker.settings import load_settings
from worker.triggers import RedisTriggerPublisher


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(load_settings, Settings)
    redis = providers.Resource(redis_resource, url=settings.provided.redis_url_value.call())
    outage = providers.Singleton(OutageMonitor, log_interval=settings.provided.outage_log_interval)
    instance = providers.Singleton(InstanceState, settings.provided.worker_instance_id)
    scheduler_registry = providers.Singleton(SchedulerRegistry)
    run_history = providers.Singleton(
        RunHistory,
        redis,
        key_prefix=settings.provided.key_prefix,
        maxlen=settings.provided.run_history_maxlen,
    )
    publisher = providers.Singleton(
        RedisTriggerPublisher, redis, channel=settings.provided.crypto_channel
    )

    crypto = providers.Singleton(CryptoTasks, publisher, outage)
    health = providers.Singleton(
        HealthTasks,
        redis,
        instance,
        outage,
        memory_limit_mb=settings.provided.health_memory_limit_mb,
    )
    cleanup = providers.Singleton(
        CleanupTasks, run_history, retention_days=settings.provided.cleanup_retention_days
    )
