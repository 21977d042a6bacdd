"""The parts a running application needs, taken from its container, and their start-up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from worker.app.deadline import Deadline
from worker.app.discovery import Discovery
from worker.app.hooks import resolve_provided, run_hooks
from worker.connect.errors import describe_error, is_redis_outage
from worker.connect.outage import OutageMonitor
from worker.connect.redis import check_primary, reach, redis_deadline
from worker.errors import ConfigError, WorkerError
from worker.observe.heartbeat import Heartbeat
from worker.observe.instance import InstanceState
from worker.run.runner import Runner
from worker.scheduler.orchestrator import Orchestrator
from worker.settings.base import WorkerSettings

FLEET_PARTS = ("fleet_control", "recovery", "gate")


@dataclass(slots=True)
class Parts:
    container: Any
    settings: WorkerSettings
    outage: OutageMonitor
    runner: Runner
    orchestrator: Orchestrator
    heartbeat: Heartbeat
    instance: InstanceState
    listeners: list[Any]
    services: dict[str, Any] = field(default_factory=dict)
    fleet: list[Any] = field(default_factory=list)
    """Recovery, fleet control, the gate: started with the scheduler, closed after runs."""
    publisher: Any = None
    """The trigger fan-out (lanes start with the listeners, close after the hooks)."""

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
        On any failure what was opened is closed again before the error goes up.
        """
        from worker.app.shutdown import close_all, shut_resources

        deadline.start()
        try:
            await _init_resources(container)
            parts = await cls._resolve(container)
            if not publish:  # a processor-only replica: no trigger lanes, no NATS, no stream
                parts.publisher = None
            if check_redis:
                await _check_redis(container, parts, require=require_redis)
            await parts._create_services(discovery)
        except BaseException:
            await shut_resources(container, deadline)
            raise
        try:
            for listener in [*parts.listeners, parts.publisher]:
                if hasattr(listener, "start"):
                    listener.start()
            await run_hooks("on_startup", list(parts.services.values()), deadline.step)
        except BaseException:
            await close_all(parts, deadline, asyncio.Event())
            raise
        return parts

    @classmethod
    async def _resolve(cls, container: Any) -> Parts:
        async def get(name: str) -> Any:
            return await resolve_provided(getattr(container, name)())

        return cls(
            container=container,
            settings=await get("settings"),
            outage=await get("outage"),
            runner=await get("runner"),
            orchestrator=await get("orchestrator"),
            heartbeat=await get("heartbeat"),
            instance=await get("instance"),
            listeners=list(await get("run_listeners")),
            fleet=[await get(name) for name in FLEET_PARTS if hasattr(container, name)],
            publisher=await get("publisher") if hasattr(container, "publisher") else None,
        )

    def start_fleet(self) -> None:
        """Recovery and fleet control: for `run` only (`run-task` claims, nothing more)."""
        for part in self.fleet:
            if hasattr(part, "start"):
                part.start(self.runner)

    def stop_fleet_intake(self) -> None:
        """The stop has begun: recovery and fleet control take in no more fires."""
        for part in self.fleet:
            if hasattr(part, "stop_intake"):
                part.stop_intake()

    async def _create_services(self, discovery: Discovery) -> None:
        for provider in discovery.services:
            try:
                self.services[provider] = await resolve_provided(
                    getattr(self.container, provider)()
                )
            except WorkerError:
                raise
            except Exception as exc:
                raise ConfigError(
                    f"service {provider!r} could not be created: {describe_error(exc)}"
                ) from None


async def _check_redis(container: Any, parts: Parts, *, require: bool) -> None:
    """A replica (read-only) is a configuration error. An unreachable or refusing Redis is
    an outage for `run`, which starts anyway, and an error for `run-task` (`require`)."""
    from redis.exceptions import AuthenticationError, AuthorizationError

    settings = parts.settings
    client = await resolve_provided(container.redis())
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
