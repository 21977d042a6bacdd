"""The parts a running application needs, taken from its container; its way in and out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, TypeVar

from loguru import logger

from worker.app.deadline import Deadline
from worker.app.discovery import Discovery
from worker.app.hooks import resolve_provided, run_hooks
from worker.app.shutdown import closing, shut_resources, step
from worker.connect.errors import describe_error, is_redis_outage
from worker.connect.outage import OutageMonitor
from worker.connect.redis import check_primary, reach, redis_deadline
from worker.errors import ConfigError, WorkerError
from worker.lifecycle import Service, Services, Stage
from worker.observe.instance import InstanceState
from worker.run.runner import Runner
from worker.scheduler.orchestrator import Orchestrator
from worker.settings.base import WorkerSettings

T = TypeVar("T")


@dataclass(slots=True)
class Parts:
    container: Any
    settings: WorkerSettings
    outage: OutageMonitor
    runner: Runner
    orchestrator: Orchestrator
    instance: InstanceState
    lifecycle: Services
    """The container's `services` then `app_services`: started a stage at a time (APP and
    TASKS here, SCHEDULING and READY by `run`), all closed in reverse on the way out."""
    services: dict[str, object] = field(default_factory=dict)
    """The application's task services (tasks, processors, hooks) by provider name."""

    @classmethod
    async def start(
        cls,
        container: Any,
        discovery: Discovery,
        deadline: Deadline,
        *,
        require_redis: bool = False,
        check_redis: bool = True,
        publish: bool = True,
    ) -> Parts:
        """Resources, framework parts, the services (once), their on_startup hooks.

        `check_redis=False` skips the role check (a test's stand-in for Redis has no ROLE).
        `publish=False` (a processor-only replica) leaves the TASKS services out: no trigger
        lanes, no NATS, no stream. On any failure what was opened is closed again before the
        error goes up.
        """
        deadline.start()
        parts: Parts | None = None
        try:
            await _init_resources(container)
            parts = await cls._resolve(container)
            if not publish:
                parts.lifecycle = parts.lifecycle.without(Stage.TASKS)
            if check_redis:
                await _check_redis(container, parts, require=require_redis)
            await parts._create_services(discovery)
        except BaseException:
            if parts is None:
                await shut_resources(container, deadline)
            else:  # every service is closed, started or not; no on_startup ran: no hooks
                parts.services.clear()
                await parts.close(deadline, asyncio.Event())
            raise
        try:
            await parts.start_services(Stage.APP, Stage.TASKS)
            await run_hooks("on_startup", list(parts.services.values()), deadline.step)
        except BaseException:
            await parts.close(deadline, asyncio.Event())
            raise
        return parts

    async def start_services(self, *stages: Stage) -> None:
        """Start the services of `stages` in order; one that fails ends the start-up, named
        in one line (a ConfigError, e.g. a metrics port taken, keeps its exit code 78)."""
        for service in self.lifecycle.at(*stages):
            try:
                await service.start()
            except WorkerError:
                raise
            except Exception as exc:
                name = f"{type(service).__name__}.start"
                logger.opt(exception=exc).bind(service=name).error("service failed to start")
                raise WorkerError(f"{name} failed: {describe_error(exc)}") from None

    async def close(self, deadline: Deadline, force: asyncio.Event) -> None:
        """The way out: on_shutdown hooks (reverse), every service in reverse (the app's,
        publisher lanes, fleet, listeners, heartbeat), then the resources. Each step gets
        its share of what is left of the deadline; a second signal (`force`) cuts them."""
        deadline.stop()  # counted from the signal when one came; from now otherwise
        if force.is_set():
            deadline.force()
        hooked = list(reversed(self.services.values()))
        await step(lambda: run_hooks("on_shutdown", hooked, deadline.share), deadline, force)
        for service in self.lifecycle.closing_order():
            await step(closing(service, deadline), deadline, force)
        self.orchestrator.deactivate()
        await shut_resources(self.container, deadline)

    @classmethod
    async def _resolve(cls, container: Any) -> Parts:
        framework = await resolve_provided(container.services())
        try:
            own = await resolve_provided(container.app_services())
        except WorkerError:
            raise
        except Exception as exc:
            raise ConfigError(f"app_services could not be created: {describe_error(exc)}") from None
        return cls(
            container=container,
            settings=await _provided(container, "settings", WorkerSettings),
            outage=await _provided(container, "outage", OutageMonitor),
            runner=await _provided(container, "runner", Runner),
            orchestrator=await _provided(container, "orchestrator", Orchestrator),
            instance=await _provided(container, "instance", InstanceState),
            # A stand-in that is no Service (a test's fake publisher) takes no part.
            lifecycle=Services(
                [s for s in framework if isinstance(s, Service)] + [_service(s) for s in own]
            ),
        )

    async def _create_services(self, discovery: Discovery) -> None:
        for provider in discovery.services:
            try:
                self.services[provider] = await resolve_provided(
                    self.container.providers[provider]()
                )
            except WorkerError:
                raise
            except Exception as exc:
                raise ConfigError(
                    f"service {provider!r} could not be created: {describe_error(exc)}"
                ) from None


async def _provided(container: Any, name: str, kind: type[T]) -> T:
    """The container's `name`, which the framework needs to be a `kind`."""
    value = await resolve_provided(container.providers[name]())
    if not isinstance(value, kind):
        got = type(value).__name__
        raise ConfigError(f"the container's {name!r} is a {got}, not a {kind.__name__}")
    return value


def _service(value: object) -> Service:
    if not isinstance(value, Service):
        raise ConfigError(
            f"app_services: a {type(value).__name__} is not a worker.Service (subclass it)"
        )
    return value


async def _check_redis(container: Any, parts: Parts, *, require: bool) -> None:
    """A replica (read-only) is a configuration error. An unreachable or refusing Redis is
    an outage for `run`, which starts anyway, and an error for `run-task` (`require`)."""
    from redis.exceptions import AuthenticationError, AuthorizationError, ResponseError

    settings = parts.settings
    client = await resolve_provided(container.framework_redis())
    where = settings.safe_redis_url()
    if require:
        await reach(client, where, settings.redis_timeout)
        return
    try:
        async with redis_deadline(settings.redis_timeout):
            await check_primary(client, where)
    except ConfigError:
        raise
    except (AuthenticationError, AuthorizationError) as exc:
        # Restarting will not fix a refused password: one line and exit 78, as `check`.
        raise ConfigError(f"REDIS_URL: {where}: authentication failed ({exc})") from None
    except ResponseError as exc:  # it answered and refused what the URL asks (a database)
        raise ConfigError(f"REDIS_URL: {where}: refused: {describe_error(exc)}") from None
    except Exception as exc:
        if is_redis_outage(exc):
            parts.outage.failure(exc)
        else:  # e.g. a password Redis refuses: every later call reports it as it goes
            logger.bind(error=describe_error(exc)).warning("redis role not checked")


async def _init_resources(container: Any) -> None:
    """Start each Resource provider in declaration order; one that fails is named."""
    from dependency_injector import providers

    for name, provider in container.providers.items():
        if not isinstance(provider, providers.Resource):
            continue
        try:
            await resolve_provided(provider.init())
        except WorkerError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"resource {name!r} could not be started: {describe_error(exc)}"
            ) from None
