"""`FrameworkContainer`: the framework's own object graph, one provider per line.

An application's container extends it and declares only its services; it may override any
provider here (tests do, with `container.x.override(...)`). An application with a settings
class of its own (a WorkerSettings subclass) redefines `settings_class` under
`@containers.copy(FrameworkContainer)`: then one settings object, of its class, serves every
provider (redefining `settings` itself would leave the framework's providers a second one).
"""

from __future__ import annotations

from dependency_injector import containers, providers

from worker.cluster.claims import ClaimStore
from worker.cluster.control import FleetControl
from worker.cluster.gate import ClusterGate
from worker.cluster.pause import PauseState
from worker.cluster.recovery import Recovery
from worker.cluster.watch import LeaseWatch
from worker.connect.outage import OutageMonitor
from worker.connect.redis import redis_resource
from worker.connect.sentinel import SentinelWatch
from worker.connect.threaded import make_thread_client
from worker.observe.alerts import Alerts
from worker.observe.clock import ClockCheck
from worker.observe.heartbeat import Heartbeat
from worker.observe.instance import InstanceState
from worker.observe.loop import LoopWatch
from worker.observe.metrics import metrics_listener
from worker.observe.recorder import RunRecorder
from worker.queues.processors import Processors
from worker.queues.queues import queues_resource
from worker.queues.runs import JobRuns
from worker.run.runner import Runner
from worker.schedule.shared import NextFires
from worker.scheduler.orchestrator import Orchestrator
from worker.scheduler.registry import SchedulerRegistry
from worker.settings.base import WorkerSettings
from worker.settings.loading import load_settings
from worker.state.history import RunHistory
from worker.state.keys import Keys
from worker.state.queues import QueueReader
from worker.targets.build import nats_resource, trigger_fanout


class FrameworkContainer(containers.DeclarativeContainer):
    settings_class = providers.Object(WorkerSettings)
    settings = providers.Singleton(load_settings, settings_class)
    keys = providers.Singleton(Keys, settings.provided.key_prefix)

    # Two clients of one Redis, each with a pool of its own: `redis` is the tasks' (a service
    # takes it); `framework_redis` carries the claims, leases, records, heartbeat, alerts,
    # control and triggers, so that tasks flooding theirs never starve the fleet's traffic.
    redis = providers.Resource(
        redis_resource,
        url=settings.provided.redis_url_value.call(),
        timeout=settings.provided.redis_timeout,
        sentinels=settings.provided.sentinels,
        master=settings.provided.redis_sentinel_master,
    )
    framework_redis = providers.Resource(
        redis_resource,
        url=settings.provided.redis_url_value.call(),
        timeout=settings.provided.redis_timeout,
        sentinels=settings.provided.sentinels,
        master=settings.provided.redis_sentinel_master,
    )
    outage = providers.Singleton(OutageMonitor, log_interval=settings.provided.outage_log_interval)

    instance = providers.Singleton(InstanceState, settings.provided.worker_instance_id)
    clock = providers.Singleton(
        ClockCheck, skew=settings.provided.claim_skew, roles=settings.provided.roles
    )
    heartbeat = providers.Singleton(
        Heartbeat,
        state=instance,
        redis=framework_redis,
        keys=keys,
        file=settings.provided.heartbeat_file,
        interval=settings.provided.heartbeat_interval,
        redis_timeout=settings.provided.redis_timeout,
        outage=outage,
        clock=clock,
    )

    run_history = providers.Singleton(
        RunHistory,
        framework_redis,
        keys=keys,
        maxlen=settings.provided.run_history_maxlen,
        timeout=settings.provided.redis_timeout,
        per_task=settings.provided.run_history_per_task,
    )
    recorder = providers.Singleton(RunRecorder, run_history, outage)
    alerts = providers.Singleton(
        Alerts,
        framework_redis,
        channel=settings.provided.alert_channel,
        after=settings.provided.alert_after_failures,
        webhook_url=settings.provided.webhook_url_value.call(),
        instance_id=settings.provided.worker_instance_id,
        redis_timeout=settings.provided.redis_timeout,
        stream=keys.provided.alerts,
        clock=clock,
    )
    # Trigger targets: the NATS client only when TRIGGER_TARGETS names a NATS target.
    nats = providers.Resource(
        nats_resource,
        enabled=settings.provided.uses_nats,
        servers=settings.provided.nats_servers.call(),
        name=settings.provided.worker_instance_id,
        timeout=settings.provided.redis_timeout,
        where=settings.provided.safe_nats_url.call(),
    )
    metrics = providers.Singleton(
        metrics_listener,
        port=settings.provided.metrics_port,
        addr=settings.provided.metrics_addr,
        outage=outage,
        nats=nats,
    )
    run_listeners = providers.List(recorder, alerts, metrics)
    publisher = providers.Singleton(
        trigger_fanout,
        settings=settings,
        redis=framework_redis,
        nats=nats,
        keys=keys,
        alerts=alerts,
        metrics=metrics,
    )

    loop_watch = providers.Singleton(LoopWatch, instance, run_listeners)

    # Fleet (worker.cluster): each cluster fire claimed once, leases, recovery, control.
    pause_state = providers.Singleton(PauseState)
    lease_watch = providers.Singleton(LeaseWatch)
    next_fires = providers.Singleton(NextFires)
    claim_store = providers.Singleton(
        ClaimStore,
        framework_redis,
        keys,
        owner=settings.provided.worker_instance_id,
        lease=settings.provided.claim_lease,
        skew=settings.provided.claim_skew,
        timeout=settings.provided.redis_timeout,
        thread_client=providers.Factory(
            make_thread_client,
            url=settings.provided.redis_url_value.call(),
            timeout=settings.provided.redis_timeout,
            sentinels=settings.provided.sentinels,
            master=settings.provided.redis_sentinel_master,
        ).provider,
        max_recoveries=settings.provided.claim_max_recoveries,
    )
    gate = providers.Singleton(
        ClusterGate,
        claim_store,
        outage=outage,
        pause=pause_state,
        lease=settings.provided.claim_lease,
        replicated=settings.provided.redis_sentinels,
        wait_timeout=settings.provided.redis_timeout,
        metrics=metrics,
        misfire_grace=settings.provided.misfire_grace,
        next_fires=next_fires,
        loop_stalls=loop_watch.provided.held_by_others,
    )
    runner = providers.Singleton(
        Runner,
        instance_id=settings.provided.worker_instance_id,
        misfire_grace=settings.provided.misfire_grace,
        outage=outage,
        listeners=run_listeners,
        gate=gate,
        admit_timeout=settings.provided.redis_timeout,
        next_fires=next_fires,
    )
    orchestrator = providers.Singleton(
        Orchestrator, runner, timezone=settings.provided.tz, next_fires=next_fires
    )
    scheduler_registry = providers.Singleton(SchedulerRegistry, orchestrator)
    recovery = providers.Singleton(
        Recovery,
        claim_store,
        gate,
        outage,
        runner,
        lease=settings.provided.claim_lease,
        watch=lease_watch,
    )
    fleet_control = providers.Singleton(
        FleetControl,
        framework_redis,
        keys,
        pause_state,
        outage,
        settings.provided.redis_timeout,
        runner=runner,
        gate=gate,
        watch=lease_watch,
    )

    # The long-running services in start order, each started at its stage (worker.lifecycle);
    # the way out closes them in reverse: publisher lanes, fleet, listeners, heartbeat last.
    # An application lists its own in `app_services`: started after these, closed before.
    sentinel_watch = providers.Singleton(
        SentinelWatch,
        sentinels=settings.provided.sentinels,
        master=settings.provided.redis_sentinel_master,
        timeout=settings.provided.redis_timeout,
        clients=providers.List(framework_redis, redis),
        listeners=providers.List(claim_store.provided.primary_switched),
    )
    services = providers.List(
        loop_watch,
        sentinel_watch,
        heartbeat,
        recorder,
        alerts,
        metrics,
        gate,
        recovery,
        fleet_control,
        publisher,
    )
    app_services = providers.List()

    # queues (BullMQ): enqueueing, and the processors started after bootstrap
    queues = providers.Resource(
        queues_resource,
        url=settings.provided.redis_url_value.call(),
        prefix=settings.provided.queue_prefix,
        overrides=settings.provided.queue_overrides,
        timeout=settings.provided.redis_timeout,
        sentinels=settings.provided.sentinels,
        master=settings.provided.redis_sentinel_master,
    )
    job_runs = providers.Singleton(
        JobRuns, instance_id=settings.provided.worker_instance_id, listeners=run_listeners
    )
    processors = providers.Singleton(
        Processors,
        url=settings.provided.redis_url_value.call(),
        prefix=settings.provided.queue_prefix,
        lock_duration=settings.provided.queue_lock_duration,
        max_retry_after=settings.provided.queue_max_retry_after,
        runs=job_runs,
        metrics=metrics,
        reader=providers.Singleton(QueueReader, framework_redis, settings.provided.queue_prefix),
        sentinels=settings.provided.sentinels,
        master=settings.provided.redis_sentinel_master,
    )
