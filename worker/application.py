"""The application context: bootstrap the container's services, schedule, drain, close.

Order (NestJS's, one way in and back out): init resources → instantiate task services →
on_startup hooks → mount tasks → ready … signal → stop firing → wait for runs →
on_shutdown hooks (reverse) → flush records → heartbeat off → shut resources down.
The whole way out is bounded by one SHUTDOWN_TIMEOUT deadline.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

from loguru import logger

from worker.alerts import Alerts
from worker.definitions import Overrides, TaskDefinition, resolve
from worker.discovery import Discovery, discover
from worker.errors import ConfigError, UsageError, WorkerError
from worker.history import RunRecorder
from worker.instance import Heartbeat, check_writable
from worker.lifecycle import StopSignals, run_in_thread
from worker.outage import describe_error
from worker.runner import Runner, RunRecord
from worker.settings import WorkerSettings

REQUIRED_PROVIDERS = (
    "settings",
    "redis",
    "outage",
    "run_history",
    "instance",
    "scheduler_registry",
)


async def resolve_provided(value: Any) -> Any:
    """Providers that depend on an async Resource hand back an awaitable: settle it."""
    return await value if inspect.isawaitable(value) else value


class ApplicationContext:
    """Runs one application container; `plan()` needs no I/O, `run()` is the worker."""

    def __init__(self, container: Any, settings: WorkerSettings) -> None:
        missing = [name for name in REQUIRED_PROVIDERS if name not in container.providers]
        if missing:
            raise ConfigError(f"WORKER_APP: the container lacks provider(s): {', '.join(missing)}")
        self._container = container
        self.settings = settings
        self.discovery: Discovery = discover(container)
        self.definitions: list[TaskDefinition] = resolve(
            self.discovery.tasks,
            Overrides(
                default_timezone=settings.worker_timezone,
                schedules=settings.schedule_overrides(),
                time_limits=settings.time_limit_overrides(),
                default_time_limit=settings.task_time_limit,
                disabled=settings.disabled,
            ),
        )
        self._services: dict[str, Any] = {}
        self._deadline = 0.0

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
            runner, recorder, heartbeat = await self._start()
            try:
                orchestrator = self._mount(runner)
                orchestrator.start()
                heartbeat.start()
                self._log_ready(orchestrator.next_fires())
                if on_ready is not None:
                    on_ready()
                await signals.should_exit.wait()
                logger.bind(signal=signals.received).info("shutdown started")
                started = time.monotonic()
                self._deadline = started + self.settings.shutdown_timeout
                orchestrator.stop()
                await runner.drain(self._remaining() - self._reserve(), force=signals.force_exit)
            finally:
                await self._close(recorder, heartbeat)
            forced = signals.force_exit.is_set()
            logger.bind(duration_ms=round((time.monotonic() - started) * 1000, 1)).info(
                "shutdown complete" if not forced else "shutdown forced"
            )
            return 1 if forced else 0

    async def run_task(self, name: str) -> int:
        """Run one task once, now; 0 when it succeeded, 1 otherwise (or after the deadline)."""
        definition = self.definition(name)
        results: list[RunRecord] = []
        async with StopSignals() as signals:
            runner, recorder, heartbeat = await self._start(results.append)
            try:
                self._mount(runner, schedule=False)
                # One deadline for the run and the way out, as for a stop of `run`.
                self._deadline = time.monotonic() + self.settings.shutdown_timeout
                run = runner.run_now(definition.name)
                if run is not None:
                    stop = asyncio.ensure_future(signals.should_exit.wait())
                    await asyncio.wait(
                        {stop, run},
                        timeout=self._remaining() - self._reserve(),
                        return_when="FIRST_COMPLETED",
                    )
                    stop.cancel()
                    await runner.drain(0)
            finally:
                await self._close(recorder, heartbeat)
        return 0 if results and results[-1].outcome == "ok" else 1

    async def _start(
        self, on_result: Callable[[RunRecord], None] | None = None
    ) -> tuple[Runner, RunRecorder, Heartbeat]:
        container, settings = self._container, self.settings
        self._deadline = time.monotonic() + settings.shutdown_timeout
        await resolve_provided(container.init_resources())
        redis = await resolve_provided(container.redis())
        outage = await resolve_provided(container.outage())
        instance = await resolve_provided(container.instance())
        recorder = RunRecorder(await resolve_provided(container.run_history()), outage)
        alerts = Alerts(
            redis,
            channel=settings.alert_channel,
            after=settings.alert_after_failures,
            webhook_url=(
                settings.alert_webhook_url.get_secret_value()
                if settings.alert_webhook_url
                else None
            ),
            instance_id=settings.worker_instance_id,
        )
        listeners: list[Any] = [alerts] + ([_Callback(on_result)] if on_result else [])
        runner = Runner(
            instance_id=settings.worker_instance_id,
            misfire_grace=settings.misfire_grace,
            sink=recorder,
            outage=outage,
            listeners=listeners,
        )
        self._alerts = alerts
        heartbeat = Heartbeat(
            state=instance,
            redis=redis,
            key_prefix=settings.key_prefix,
            file=settings.heartbeat_file,
            interval=settings.heartbeat_interval,
            outage=outage,
        )
        for provider in self.discovery.services:
            self._services[provider] = await resolve_provided(getattr(container, provider)())
        recorder.start()
        try:
            await self._hooks("on_startup", list(self._services.values()))
        except BaseException:
            await self._close(recorder, heartbeat)
            raise
        return runner, recorder, heartbeat

    def _mount(self, runner: Runner, *, schedule: bool = True) -> Any:
        from worker.scheduling import Orchestrator

        orchestrator = Orchestrator(runner, self.settings.tz)
        for definition in self.definitions:
            method = getattr(self._services[definition.provider], definition.attribute)
            if schedule:
                orchestrator.mount(definition, method)
            else:
                runner.add(definition, method)
        registry = self._container.scheduler_registry()
        registry.attach(orchestrator)
        self._container.instance().next_fires = orchestrator.next_fires
        return orchestrator

    def _log_ready(self, next_fires: dict[str, str | None]) -> None:
        active = [d.name for d in self.definitions if not d.disabled]
        logger.bind(
            instance=self.settings.worker_instance_id,
            tasks=",".join(active) or "none",
            disabled=",".join(d.name for d in self.definitions if d.disabled) or "none",
            next_fire=min((v for v in next_fires.values() if v), default="none"),
        ).info("ready")

    async def _close(self, recorder: RunRecorder, heartbeat: Heartbeat) -> None:
        await self._hooks("on_shutdown", list(reversed(self._services.values())))
        await self._alerts.close(self._remaining() * 0.5)
        await recorder.close(self._remaining() * 0.7)
        await heartbeat.stop(self._remaining() * 0.5)
        self._container.scheduler_registry().attach(None)
        try:
            await asyncio.wait_for(
                resolve_provided(self._container.shutdown_resources()),
                timeout=max(self._remaining(), 0.1),
            )
        except Exception as exc:
            logger.bind(error=describe_error(exc)).warning("resources not closed cleanly")

    async def _hooks(self, hook: str, services: list[Any]) -> None:
        for service in services:
            method = getattr(service, hook, None)
            if method is None:
                continue
            name = f"{type(service).__name__}.{hook}"
            try:
                await asyncio.wait_for(_call(method), timeout=max(self._remaining(), 0.1))
            except Exception as exc:
                logger.opt(exception=exc).bind(hook=name).error(f"{hook} hook failed")
                if hook == "on_startup":
                    raise WorkerError(f"{name} failed: {describe_error(exc)}") from None

    def _reserve(self) -> float:
        """What runs leave of the deadline for hooks, flushing and closing."""
        return min(1.0, self.settings.shutdown_timeout * 0.2)

    def _remaining(self) -> float:
        return max(self._deadline - time.monotonic(), 0.0)


class _Callback:
    def __init__(self, function: Callable[[RunRecord], None]) -> None:
        self._function = function

    def task_result(self, record: RunRecord) -> None:
        self._function(record)


async def _call(method: Callable[[], Any]) -> None:
    if inspect.iscoroutinefunction(method):
        await method()
    else:
        await run_in_thread(method)  # a daemon thread: a stuck hook cannot hold the exit
