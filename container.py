"""The application's object graph: the framework's, plus its settings and task services."""

from __future__ import annotations

from dependency_injector import containers, providers

from config import Settings
from tasks.cleanup import CleanupTasks
from tasks.coin_sync import CoinSyncTasks
from tasks.crypto import CryptoTasks
from tasks.health import HealthTasks
from worker import FrameworkContainer


@containers.copy(FrameworkContainer)  # providers of its own: the override below stays here
class Container(FrameworkContainer):
    crypto = providers.Singleton(CryptoTasks, FrameworkContainer.publisher)
    health = providers.Singleton(
        HealthTasks,
        FrameworkContainer.redis,
        FrameworkContainer.instance,
        FrameworkContainer.outage,
        memory_limit_mb=FrameworkContainer.settings.provided.health_memory_limit_mb,
    )
    cleanup = providers.Singleton(
        CleanupTasks,
        FrameworkContainer.run_history,
        retention_days=FrameworkContainer.settings.provided.cleanup_retention_days,
    )
    coin_sync = providers.Singleton(
        CoinSyncTasks,
        FrameworkContainer.queues,
        FrameworkContainer.redis,
        coins=FrameworkContainer.settings.provided.coin_list,
        price_api_url=FrameworkContainer.settings.provided.price_api_url,
        max_delay=FrameworkContainer.settings.provided.sync_max_delay,
        max_bytes=FrameworkContainer.settings.provided.price_api_max_bytes,
    )


# One settings object, of the application's class, for every provider. An override rather
# than a `settings_class` line in the class: `containers.copy` leaves `settings` on the
# class's provider but `settings_class` on a copy of it, so an application that extends
# this container with `@containers.copy(Container)` and a `settings_class` of its own
# would miss `settings` (README "Your own settings").
Container.settings_class.override(providers.Object(Settings))
