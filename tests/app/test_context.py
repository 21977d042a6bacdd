"""The application context runs what the container declares: a plain hook's coroutine is
awaited, and a provider overridden on the container is the one the running worker uses.
Each docstring says what used to happen."""

from __future__ import annotations

from collections.abc import Awaitable

from dependency_injector import containers, providers

from tests.app.support import context_of
from tests.run_support import Sink
from worker import FrameworkContainer, interval


class HookedTasks:
    """A plain `on_startup` that hands back a coroutine (a sync wrapper around async work)."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def on_startup(self) -> Awaitable[None]:
        return self._connect()

    async def _connect(self) -> None:
        self.events.append("startup")

    @interval("1h", name="hooked")
    async def hooked(self) -> None:
        self.events.append("run")


@containers.copy(FrameworkContainer)
class HookedContainer(FrameworkContainer):
    hooked = providers.Singleton(HookedTasks)


async def test_a_plain_on_startup_returning_a_coroutine_has_it_awaited(app_env: str) -> None:
    """The old context ran a plain hook in a thread and dropped the coroutine it returned:
    the start-up work never happened."""
    container = HookedContainer()
    assert await context_of(container).run_task("hooked") == 0
    assert container.hooked().events == ["startup", "run"]


async def test_the_running_worker_uses_the_containers_overridden_recorder(app_env: str) -> None:
    """The old context built its recorder and listeners by hand, so `container.recorder
    .override(...)` changed nothing in the running worker."""
    from container import Container

    sink = Sink()
    container = Container()
    with container.recorder.override(providers.Object(sink)):
        assert await context_of(container).run_task("crypto-trigger") == 0
    assert [(r.task, r.outcome) for r in sink.records] == [("crypto-trigger", "ok")]
