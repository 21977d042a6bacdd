"""The application context: bootstrap the container's services, schedule, drain, close.

Order (NestJS's, one way in and back out): init resources → instantiate task services →
start the services (listeners, publisher, the app's) → on_startup hooks → mount tasks →
fleet services, heartbeat → ready … signal → stop intake, stop firing → wait for runs →
on_shutdown hooks (reverse) → close the services in reverse (the app's, publisher lanes,
fleet, listeners, heartbeat) → shut resources down. The whole way out is bounded by one
SHUTDOWN_TIMEOUT deadline. Every part comes from the container; the context builds none.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from dependency_injector import providers
from loguru import logger

from worker.app.deadline import Deadline
from worker.app.discovery import Discovery, discover
from worker.app.overrides import Overrides, resolve
from worker.app.parts import Parts
from worker.app.queueing import bound_processors, queue_options
from worker.app.signals import StopSignals
from worker.errors import UsageError
from worker.lifecycle import Stage
from worker.observe.heartbeat import check_writable
from worker.observe.metrics import DisabledMetrics
from worker.run.records import RunRecord
from worker.schedule.definitions import TaskDefinition
from worker.settings.base import WorkerSettings


class ApplicationContext:
    """Runs one application container; `plan()` needs no I/O, `run()` is the worker."""

    def __init__(self, container: Any, settings: WorkerSettings) -> None:
        self._container = container
        self.settings = settings
        self.discovery: Discovery = discover(container)
        self.definitions: list[TaskDefinition] = resolve(
            self.discovery.tasks,
            Overrides(
                default_timezone=settings.worker_timezone,
                schedules=settings.task_schedules,
                time_limits=settings.task_time_limits,
                default_time_limit=settings.task_time_limit,
                disabled=settings.disabled,
            ),
        )
        self._deadline = Deadline(settings.shutdown_timeout)
        self.queue_options = queue_options(self.discovery, settings)

    def definition(self, name: str) -> TaskDefinition:
        for definition in self.definitions:
            if definition.name == name:
                return definition
        known = ", ".join(d.name for d in self.definitions) or "none"
        raise UsageError(f"unknown task {name!r} (tasks: {known})")

    async def run(self, on_ready: Callable[[], None] | None = None) -> int:
        """Schedule until SIGINT/SIGTERM; 0 after a graceful stop, 1 after a forced one."""
        check_writable(self.settings.heartbeat_file)
        async with StopSignals() as signals:
            roles = self.settings.roles
            parts = await Parts.start(
                self._container, self.discovery, self._deadline, publish="scheduler" in roles
            )
            started = time.monotonic()
            try:
                processors = await bound_processors(parts, self.discovery, self.queue_options)
                if not signals.should_exit.is_set():  # a signal during start-up: no ready
                    scheduler = "scheduler" in roles
                    self._mount(parts, schedule=scheduler)
                    if scheduler:  # a processor-only replica never claims nor serves control
                        parts.orchestrator.start()
                        await parts.start_services(Stage.SCHEDULING)
                    parts.instance.roles = roles
                    parts.instance.catalog = self._catalog()
                    await parts.start_services(Stage.READY)
                    self._log_ready(parts.orchestrator.next_fires(), parts.outage.down)
                    if on_ready is not None:
                        on_ready()
                    if "processor" in roles:  # after ready: bullmq is off its path
                        processors.start_soon()
                    _keep_start_up_out_of_collections()
                await signals.should_exit.wait()
                started = self._begin_stop(signals)
                parts.lifecycle.stop_intake()  # before the drain: nothing taken over and dropped
                parts.orchestrator.stop()
                await asyncio.gather(
                    self._drain(parts, signals),
                    processors.close(self._deadline.for_runs(), signals.force_exit),
                )
            finally:
                await parts.close(self._deadline, signals.force_exit)
            forced = signals.force_exit.is_set()
            logger.bind(duration_ms=round((time.monotonic() - started) * 1000, 1)).info(
                "shutdown complete" if not forced else "shutdown forced"
            )
            return 1 if forced else 0

    async def run_task(self, name: str) -> int:
        """Run one task once, now; 0 when it succeeded, 1 otherwise.

        Redis must answer first (69/78 otherwise, before anything runs). The run goes on until
        it ends; a signal stops it as it stops `run`, within SHUTDOWN_TIMEOUT.
        """
        name = self.definition(name).name
        # One run serves no metrics: nothing would scrape it, and the port is the worker's.
        self._container.metrics.override(providers.Object(DisabledMetrics()))
        async with StopSignals() as signals:
            parts = await Parts.start(
                self._container, self.discovery, self._deadline, require_redis=True
            )
            record: RunRecord | None = None
            try:
                self._mount(parts, schedule=False)
                run = None if signals.should_exit.is_set() else parts.runner.run_manual(name)
                if run is not None:
                    record = await _until_done_or_signal(run, signals)
                    from worker.app.manual import explain_refusal  # `run-task` only

                    await explain_refusal(self._container, record)
                if signals.should_exit.is_set():
                    self._begin_stop(signals)
                    parts.lifecycle.stop_intake()
                    await self._drain(parts, signals)
                    if run is not None and run.done() and not run.cancelled():
                        record = run.result()
            finally:
                await parts.close(self._deadline, signals.force_exit)
        return 0 if record is not None and record.outcome == "ok" else 1

    @asynccontextmanager
    async def started(
        self, *, require_redis: bool = True, check_redis: bool = True
    ) -> AsyncIterator[Parts]:
        """The application up without its scheduler (worker.testing): resources, services and
        on_startup hooks, every task runnable by `parts.runner.run_now`. On exit, runs still
        going are drained, then everything is closed the way `run` closes it."""
        parts = await Parts.start(
            self._container,
            self.discovery,
            self._deadline,
            require_redis=require_redis,
            check_redis=check_redis,
        )
        try:
            self._mount(parts, schedule=False)
            yield parts
        finally:
            self._deadline.stop()
            parts.lifecycle.stop_intake()
            try:
                await parts.runner.drain(
                    self._deadline.for_runs(), cancel_wait=self._deadline.for_cancelled_runs
                )
            finally:
                await parts.close(self._deadline, asyncio.Event())

    async def _drain(self, parts: Parts, signals: StopSignals) -> None:
        deadline = self._deadline
        await parts.runner.drain(
            deadline.for_runs(),
            force=signals.force_exit,
            cancel_wait=deadline.for_cancelled_runs,
        )

    def _begin_stop(self, signals: StopSignals) -> float:
        logger.bind(signal=signals.received).info("shutdown started")
        self._deadline.stop()
        signals.on_force = self._deadline.force
        if signals.force_exit.is_set():
            self._deadline.force()
        return time.monotonic()

    def _mount(self, parts: Parts, *, schedule: bool) -> None:
        orchestrator = parts.orchestrator
        for definition in self.definitions:
            method = getattr(parts.services[definition.provider], definition.attribute)
            if schedule:
                orchestrator.mount(definition, method)
            else:
                orchestrator.add(definition, method)
        orchestrator.activate()
        parts.instance.next_fires = orchestrator.next_fires
        parts.instance.running = parts.runner.running_since

    def _catalog(self) -> dict[str, Any]:
        from worker.observe.instance import describe_app

        roles = self.settings.roles  # what this replica schedules and processes
        return describe_app(
            self.definitions if "scheduler" in roles else (),
            queues=[p.spec.queue for p in self.discovery.processors]
            if "processor" in roles
            else [],
            queue_prefix=self.settings.queue_prefix,
            targets=self.settings.targets,
        )

    def _log_ready(self, next_fires: dict[str, str | None], redis_down: bool) -> None:
        active = [d.name for d in self.definitions if not d.disabled]
        settings = self.settings
        where = settings.safe_redis_url()  # which Redis (a password shown as ***)
        if settings.redis_sentinels:
            master, sentinels = settings.redis_sentinel_master, settings.redis_sentinels
            where = f"{where} (primary {master!r} via sentinels {sentinels})"
        logger.bind(
            instance=settings.worker_instance_id,
            redis=where,
            redis_state="unreachable" if redis_down else "up",
            roles=",".join(settings.roles),
            tasks=",".join(active) or "none",
            disabled=",".join(d.name for d in self.definitions if d.disabled) or "none",
            next_fire=min((v for v in next_fires.values() if v), default="none"),
        ).info("ready")


def _keep_start_up_out_of_collections() -> None:
    """What start-up built lives as long as the process: kept out of the collector's full
    passes (gc.freeze), which would otherwise stall an instant's runs now and then."""
    gc.freeze()


async def _until_done_or_signal(
    run: asyncio.Task[RunRecord], signals: StopSignals
) -> RunRecord | None:
    """The run's record when it ends first; None when a signal came first."""
    stop = asyncio.ensure_future(signals.should_exit.wait())
    try:
        await asyncio.wait({stop, run}, return_when="FIRST_COMPLETED")
    finally:
        stop.cancel()
    if run.done():
        result: RunRecord | None = None if run.cancelled() else run.result()
        return result
    return None
