"""Decorators attach validated specs; discovery finds them; overrides apply as DESIGN says."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from dependency_injector import containers, providers

from tests.app.support import context_of
from worker import CronExpression, FrameworkContainer, cron, interval, timeout
from worker.app.discovery import discover
from worker.app.overrides import Overrides, resolve
from worker.errors import ConfigError, DefinitionError
from worker.schedule.cron import CronSchedule, IntervalSchedule, OnceSchedule
from worker.schedule.decorators import get_spec
from worker.schedule.definitions import TaskDefinition


class Reports:
    @cron(CronExpression.EVERY_5_MINUTES)
    async def build_report(self) -> None: ...

    @interval("30s", time_limit=5)
    async def refresh_cache(self) -> None: ...

    @timeout(2.5, name="warm-up")
    def warm(self) -> None: ...

    def helper(self) -> None: ...


class Hooks:
    async def on_startup(self) -> None: ...


class App(containers.DeclarativeContainer):
    hooks = providers.Singleton(Hooks)
    reports = providers.Singleton(Reports)
    plain = providers.Object(42)


def definitions(**overrides: Any) -> dict[str, TaskDefinition]:
    return {d.name: d for d in resolve(discover(App()).tasks, Overrides(**overrides))}


def test_decorator_only_attaches_a_spec_to_the_method() -> None:
    spec = get_spec(Reports.refresh_cache)
    assert spec is not None
    assert spec.schedule == IntervalSchedule(30.0)
    assert spec.time_limit == 5.0


def test_task_name_defaults_to_method_name_with_dashes() -> None:
    assert set(definitions()) == {"build-report", "refresh-cache", "warm-up"}


def test_cron_defaults_to_cluster_scope_and_interval_to_instance() -> None:
    found = definitions()
    assert found["build-report"].scope == "cluster"
    assert found["refresh-cache"].scope == "instance"
    assert found["warm-up"].scope == "instance"


def test_discovery_lists_services_with_tasks_or_hooks_in_declaration_order() -> None:
    assert discover(App()).services == ("hooks", "reports")


def test_discovery_does_not_call_providers() -> None:
    calls: list[str] = []

    def build() -> Reports:
        calls.append("built")
        return Reports()

    class Lazy(containers.DeclarativeContainer):
        reports = providers.Singleton(Reports)
        other = providers.Factory(build)

    discover(Lazy())
    assert calls == []


def test_plain_method_runs_in_a_thread_and_is_marked_not_async() -> None:
    assert definitions()["warm-up"].is_async is False
    assert definitions()["build-report"].is_async is True


@pytest.mark.parametrize(
    ("decorate", "fragment"),
    [
        (lambda: cron("61 * * * *"), "minute"),
        (lambda: cron("* * * *"), "fields"),
        (lambda: interval("5x"), "not a duration"),
        (lambda: interval(0), "> 0"),
        (lambda: interval("5ms"), "under 100ms"),
        (lambda: cron("* * * * *", scope="everywhere"), "scope"),  # type: ignore[arg-type]
        (lambda: cron("* * * * *", timezone="Mars/Olympus"), "time zone"),
        (lambda: cron("* * * * *", time_limit="soon"), "not a duration"),
        (lambda: cron("* * * * *", name=""), "name"),
    ],
)
def test_bad_decorator_argument_is_a_definition_error_naming_the_task(
    decorate: Any, fragment: str
) -> None:
    async def my_task() -> None: ...

    with pytest.raises(DefinitionError, match=fragment) as info:
        decorate()(my_task)
    assert "'my-task'" in str(info.value)


def test_time_limit_on_a_plain_method_is_a_definition_error() -> None:
    def blocking() -> None: ...

    with pytest.raises(DefinitionError, match="async"):
        interval(1, time_limit=1)(blocking)


def test_method_that_needs_arguments_is_a_definition_error() -> None:
    class Needy:
        async def refresh(self, symbol: str) -> None: ...

    with pytest.raises(DefinitionError, match="'refresh': a task method takes no arguments"):
        interval(1)(Needy.refresh)


def test_method_with_only_defaulted_arguments_is_accepted() -> None:
    class Relaxed:
        async def refresh(self, symbol: str = "BTC") -> None: ...

    assert get_spec(interval(1)(Relaxed.refresh)) is not None


def test_duplicate_task_name_is_a_definition_error() -> None:
    class Other:
        @interval(1, name="build-report")
        async def again(self) -> None: ...

    class Twice(containers.DeclarativeContainer):
        reports = providers.Singleton(Reports)
        other = providers.Singleton(Other)

    with pytest.raises(DefinitionError, match="'build-report': duplicate"):
        discover(Twice())


def test_schedule_override_turns_cron_into_interval_and_keeps_scope() -> None:
    found = definitions(schedules={"BUILD_REPORT": "10s"})
    assert found["build-report"].schedule == IntervalSchedule(10.0)
    assert found["build-report"].scope == "cluster"


def test_schedule_override_turns_interval_into_cron() -> None:
    found = definitions(schedules={"REFRESH_CACHE": "*/5 * * * * *"})
    assert found["refresh-cache"].schedule == CronSchedule("*/5 * * * * *")
    assert found["refresh-cache"].scope == "instance"


def test_override_naming_no_task_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="SCHEDULE_BUILD_REPROT: no task"):
        definitions(schedules={"BUILD_REPROT": "10s"})


def test_bad_override_value_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"SCHEDULE_BUILD_REPORT: .*hour"):
        definitions(schedules={"BUILD_REPORT": "0 25 * * *"})


def test_disabled_task_naming_no_task_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="DISABLED_TASKS: no task named 'nope'"):
        definitions(disabled=("nope",))


def test_disabled_tasks_are_kept_and_marked() -> None:
    found = definitions(disabled=("warm-up",))
    assert found["warm-up"].disabled
    assert found["warm-up"].schedule == OnceSchedule(2.5)


def test_time_limit_precedence_env_over_decorator_over_global() -> None:
    found = definitions(time_limits={"REFRESH_CACHE": 9.0}, default_time_limit=3.0)
    assert found["refresh-cache"].time_limit == 9.0
    found = definitions(default_time_limit=3.0)
    assert found["refresh-cache"].time_limit == 5.0
    assert found["build-report"].time_limit == 3.0


def test_global_time_limit_is_ignored_by_plain_methods() -> None:
    assert definitions(default_time_limit=3.0)["warm-up"].time_limit == 0.0


def test_per_task_time_limit_on_a_plain_method_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="TASK_TIME_LIMIT_WARM_UP"):
        definitions(time_limits={"WARM_UP": 1.0})


def test_task_timezone_defaults_to_worker_timezone() -> None:
    found = definitions(default_timezone="Europe/Berlin")
    assert str(found["build-report"].timezone) == "Europe/Berlin"


class StaticTasks:
    ran: ClassVar[list[str]] = []

    @staticmethod
    @interval("1h", name="static-below")
    async def below() -> None:
        StaticTasks.ran.append("static-below")

    @interval("1h", name="static-above")
    @staticmethod
    async def above() -> None:
        StaticTasks.ran.append("static-above")


@containers.copy(FrameworkContainer)
class StaticContainer(FrameworkContainer):
    statics = providers.Singleton(StaticTasks)


@pytest.mark.parametrize("name", ["static-below", "static-above"])
async def test_a_static_task_method_is_discovered_and_runs(app_env: str, name: str) -> None:
    """Discovery used to count plain functions only: a staticmethod object was passed over,
    so the task was never found (in either decorator order)."""
    StaticTasks.ran.clear()
    context = context_of(StaticContainer())
    assert {d.name for d in context.definitions} == {"static-below", "static-above"}
    assert await context.run_task(name) == 0
    assert StaticTasks.ran == [name]


def test_a_static_task_method_with_a_required_argument_is_a_definition_error() -> None:
    """The decorator's check leaves room for one required argument (`self`), which a static
    method does not have: the bad definition was accepted instead of exiting 78."""

    class NeedsArgument:
        @staticmethod
        @interval("1h")
        async def needs(value: int) -> None: ...

    class Holder(containers.DeclarativeContainer):
        needs = providers.Singleton(NeedsArgument)

    with pytest.raises(DefinitionError, match="takes no arguments"):
        discover(Holder())
