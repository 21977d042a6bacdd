"""crypto-stats-worker's framework: scheduled task methods on container-wired services.

This module is the public API: applications import from here (and `worker.testing`)
only. Names load on first use, so `python -m worker health` pays for none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from worker.version import __version__

_EXPORTS = {
    # writing tasks
    "cron": "worker.schedule.decorators",
    "interval": "worker.schedule.decorators",
    "timeout": "worker.schedule.decorators",
    "CronExpression": "worker.schedule.expressions",
    "current_fire": "worker.run.fire",
    "Fire": "worker.run.fire",
    "format_instant": "worker.protocol",
    "SchedulerRegistry": "worker.scheduler.registry",
    # the application's container and settings
    "FrameworkContainer": "worker.container",
    "WorkerSettings": "worker.settings.base",
    "Duration": "worker.settings.fields",
    "load_settings": "worker.settings.loading",
    "WorkerError": "worker.errors",
    "ConfigError": "worker.errors",
    # what the shipped tasks use
    "TriggerPublisher": "worker.targets.publisher",
    "OutageMonitor": "worker.connect.outage",
    "redis_deadline": "worker.connect.redis",
    "is_redis_outage": "worker.connect.errors",
    "describe_error": "worker.connect.errors",
    "InstanceState": "worker.observe.instance",
    "CpuMeter": "worker.observe.instance",
    "RunHistory": "worker.state.history",
    "RunRecord": "worker.run.records",
    "StuckRun": "worker.run.records",
    "RunListener": "worker.run.records",
    # long-running services of the application's own (`app_services`)
    "Service": "worker.lifecycle",
    "Stage": "worker.lifecycle",
    # queues (BullMQ)
    "processor": "worker.queues.decorators",
    "current_job": "worker.queues.job",
    "Job": "worker.queues.job",
    "JobError": "worker.queues.job",
    "enqueue_args": "worker.queues.job",
    "Queues": "worker.queues.queues",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'worker' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from worker.connect.errors import (
        describe_error as describe_error,
    )
    from worker.connect.errors import (
        is_redis_outage as is_redis_outage,
    )
    from worker.connect.outage import (
        OutageMonitor as OutageMonitor,
    )
    from worker.connect.redis import (
        redis_deadline as redis_deadline,
    )
    from worker.container import (
        FrameworkContainer as FrameworkContainer,
    )
    from worker.errors import (
        ConfigError as ConfigError,
    )
    from worker.errors import (
        WorkerError as WorkerError,
    )
    from worker.lifecycle import (
        Service as Service,
    )
    from worker.lifecycle import (
        Stage as Stage,
    )
    from worker.observe.instance import (
        CpuMeter as CpuMeter,
    )
    from worker.observe.instance import (
        InstanceState as InstanceState,
    )
    from worker.protocol import (
        format_instant as format_instant,
    )
    from worker.queues.decorators import (
        processor as processor,
    )
    from worker.queues.job import (
        Job as Job,
    )
    from worker.queues.job import (
        JobError as JobError,
    )
    from worker.queues.job import (
        current_job as current_job,
    )
    from worker.queues.job import (
        enqueue_args as enqueue_args,
    )
    from worker.queues.queues import (
        Queues as Queues,
    )
    from worker.run.fire import (
        Fire as Fire,
    )
    from worker.run.fire import (
        current_fire as current_fire,
    )
    from worker.run.records import (
        RunListener as RunListener,
    )
    from worker.run.records import (
        RunRecord as RunRecord,
    )
    from worker.run.records import (
        StuckRun as StuckRun,
    )
    from worker.schedule.decorators import (
        cron as cron,
    )
    from worker.schedule.decorators import (
        interval as interval,
    )
    from worker.schedule.decorators import (
        timeout as timeout,
    )
    from worker.schedule.expressions import (
        CronExpression as CronExpression,
    )
    from worker.scheduler.registry import (
        SchedulerRegistry as SchedulerRegistry,
    )
    from worker.settings.base import (
        WorkerSettings as WorkerSettings,
    )
    from worker.settings.fields import (
        Duration as Duration,
    )
    from worker.settings.loading import (
        load_settings as load_settings,
    )
    from worker.state.history import (
        RunHistory as RunHistory,
    )
    from worker.targets.publisher import (
        TriggerPublisher as TriggerPublisher,
    )
