"""`WorkerTestApp`: an application's container up as the worker runs it, minus the scheduler."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from dependency_injector import providers

from worker.app.context import ApplicationContext
from worker.app.hooks import resolve_provided
from worker.app.parts import Parts
from worker.errors import ConfigError, UsageError
from worker.run.gate import AdmitAll
from worker.run.records import RunRecord
from worker.settings.base import WorkerSettings
from worker.settings.loading import load_settings
from worker.testing.environment import patched_environ
from worker.testing.fires import upcoming_fires
from worker.testing.listeners import NoHistory, RecordedRuns, followed_by


class WorkerTestApp:
    """`async with WorkerTestApp(Container, overrides={...}, env={...}) as app:`.

    On entry: `env` is set (and restored on exit), the container is built (a class, or a
    fresh instance), `overrides` applied (a provider as given, any other value as
    `providers.Object`), settings loaded, then the worker's own start-up runs: resources,
    services, on_startup hooks. On exit: runs drained, on_shutdown hooks, listeners and
    resources closed, overrides undone. Records stay in memory (`records`) unless
    `record_history`; the fire gate (the cluster claim) admits every fire unless `claim`.
    `.env` is read only when `env_file` names one.
    """

    def __init__(
        self,
        container: Any,
        *,
        overrides: Mapping[str, Any] | None = None,
        env: Mapping[str, str | None] | None = None,
        env_file: str | Path | None = None,
        record_history: bool = False,
        claim: bool = False,
    ) -> None:
        self._given = container
        self._overrides = dict(overrides or {})
        if "redis" in self._overrides:  # a stand-in Redis is the framework's client too
            self._overrides.setdefault("framework_redis", self._overrides["redis"])
        self._env = dict(env or {})
        self._env_file = env_file
        self._record_history = record_history
        self._claim = claim
        self._runs = RecordedRuns()
        self._stack: AsyncExitStack | None = None
        self._context: ApplicationContext | None = None
        self._parts: Parts | None = None
        self.container: Any = None
        self.last_job_result: Any = None
        self.last_job_error: Exception | None = None

    @property
    def records(self) -> list[RunRecord]:
        """Every record the runner produced (runs, skipped and missed fires), oldest first."""
        return self._runs.records

    @property
    def settings(self) -> WorkerSettings:
        return self._started()[0].settings

    async def __aenter__(self) -> WorkerTestApp:
        if self._stack is not None:
            raise UsageError("this WorkerTestApp is already started")
        stack = AsyncExitStack()
        try:
            stack.enter_context(patched_environ(self._env))
            given = self._given
            self.container = container = given() if isinstance(given, type) else given
            for name, value in self._overrides.items():
                stack.enter_context(_provider(container, name).override(_as_provider(value)))
            settings = self._load_settings(container, stack)
            self._replace_framework_parts(container, stack)
            self._context = ApplicationContext(container, settings)
            stand_in = "redis" in self._overrides  # a fake Redis answers no PING or ROLE
            self._parts = await stack.enter_async_context(
                self._context.started(require_redis=not stand_in, check_redis=not stand_in)
            )
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        stack, self._stack, self._parts = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    async def run_task(self, name: str) -> RunRecord:
        """Run task `name` once, now, as a fire would (fire context, time limit, fire gate,
        run listeners); its record once it has ended. Like `worker run-task`, it is a manual
        fire: its id is `<task>:manual:<token>`, new on every call. A task still running from
        an earlier call folds this fire into that run: the record is then the `skipped` one."""
        context, parts = self._started()
        name = context.definition(name).name
        before = len(self.records)
        run = parts.runner.run_manual(name)
        if run is None:
            if len(self.records) > before:
                return self.records[before]
            raise UsageError(f"task {name!r} was not run")
        return await run

    async def run_job(
        self, queue: str, data: Any, *, attempt: int = 1, job_id: str | None = None
    ) -> RunRecord:
        """Run one attempt of a job of `queue` through its processor, as the bullmq Worker
        would (`current_job()`, run listeners); its record (`ok`, `retrying`, `failed`). The
        processor's result or exception is on `last_job_result` / `last_job_error`."""
        from worker.testing.jobs import run_job

        context, parts = self._started()
        before = len(self.records)
        self.last_job_result = self.last_job_error = None
        try:
            self.last_job_result = await run_job(
                context, parts, queue, data, attempt=attempt, job_id=job_id
            )
        except Exception as exc:
            if len(self.records) == before:
                raise
            self.last_job_error = exc
        return self.records[-1]

    def next_fires(
        self, name: str, count: int = 5, after: datetime | None = None
    ) -> list[datetime]:
        """The next `count` fires of task `name` (UTC) at or after `after` (default: now), by
        its effective schedule (SCHEDULE_* settings applied); none for a disabled task."""
        definition = self._started()[0].definition(name)
        return upcoming_fires(definition, count, after or datetime.now(UTC))

    async def service(self, name: str) -> Any:
        """The container's `name` as the running application has it (the tasks' instance)."""
        parts = self._started()[1]
        if name in parts.services:
            return parts.services[name]
        return await resolve_provided(_provider(self.container, name)())

    def _load_settings(self, container: Any, stack: AsyncExitStack) -> WorkerSettings:
        if "settings" not in self._overrides:
            settings_class = container.settings_class()
            loaded = load_settings(settings_class, env_file=self._env_file)
            stack.enter_context(container.settings.override(providers.Object(loaded)))
        settings = container.settings()
        if not isinstance(settings, WorkerSettings):
            raise ConfigError("the container's `settings` must provide WorkerSettings")
        return settings

    def _replace_framework_parts(self, container: Any, stack: AsyncExitStack) -> None:
        """Records to memory (and not to the history unless asked); no claim unless asked."""
        listeners = container.run_listeners
        base = listeners.last_overriding or providers.List(*listeners.args)
        wrapped = providers.Callable(followed_by, base, providers.Object(self._runs))
        stack.enter_context(listeners.override(wrapped))
        if not self._record_history and "recorder" not in self._overrides:
            stack.enter_context(container.recorder.override(providers.Object(NoHistory())))
        if not self._claim and "gate" not in self._overrides:
            stack.enter_context(container.gate.override(providers.Object(AdmitAll())))

    def _started(self) -> tuple[ApplicationContext, Parts]:
        if self._context is None or self._parts is None:
            raise UsageError("use the WorkerTestApp inside `async with` first")
        return self._context, self._parts


def _provider(container: Any, name: str) -> Any:
    provider = container.providers.get(name)
    if provider is None:
        known = ", ".join(sorted(container.providers))
        raise UsageError(f"the container has no provider {name!r} (providers: {known})")
    return provider


def _as_provider(value: Any) -> Any:
    return value if isinstance(value, providers.Provider) else providers.Object(value)
