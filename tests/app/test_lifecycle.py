"""The services' one lifecycle: the container's list, each part's stage, the way in and out."""

from __future__ import annotations

from pathlib import Path

import pytest
from dependency_injector import providers
from typing_extensions import override

from worker import FrameworkContainer
from worker.app.context import ApplicationContext
from worker.app.deadline import Deadline
from worker.app.hooks import resolve_provided
from worker.app.parts import Parts
from worker.cluster.control import FleetControl
from worker.cluster.gate import ClusterGate
from worker.cluster.recovery import Recovery
from worker.connect.sentinel import SentinelWatch
from worker.errors import ConfigError, WorkerError
from worker.lifecycle import Service, Services, Stage
from worker.observe.alerts import Alerts
from worker.observe.heartbeat import Heartbeat
from worker.observe.loop import LoopWatch
from worker.observe.metrics import DisabledMetrics
from worker.observe.recorder import RunRecorder
from worker.targets.fanout import TriggerFanout


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_url: str) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HEARTBEAT_FILE", str(tmp_path / "worker.heartbeat"))
    monkeypatch.delenv("METRICS_PORT", raising=False)


async def test_the_framework_lists_its_services_in_start_order_each_at_its_stage(
    env: None,
) -> None:
    """A part missing from the list, or not a Service, would never be started nor closed."""
    container = FrameworkContainer()
    await resolve_provided(container.init_resources())
    try:
        services = await resolve_provided(container.services())
    finally:
        await resolve_provided(container.shutdown_resources())
    kinds = [
        (LoopWatch, Stage.APP),
        (SentinelWatch, Stage.APP),
        (Heartbeat, Stage.READY),
        (RunRecorder, Stage.APP),
        (Alerts, Stage.APP),
        (DisabledMetrics, Stage.APP),
        (ClusterGate, Stage.SCHEDULING),
        (Recovery, Stage.SCHEDULING),
        (FleetControl, Stage.SCHEDULING),
        (TriggerFanout, Stage.TASKS),
    ]
    assert [(type(s), s.stage) for s in services] == kinds
    assert all(isinstance(s, Service) for s in services)


class Journal(Service):
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self._log = name, log

    @override
    async def start(self) -> None:
        self._log.append(f"start {self.name}")

    @override
    def stop_intake(self) -> None:
        self._log.append(f"intake {self.name}")

    @override
    async def close(self, timeout: float) -> None:
        self._log.append(f"close {self.name}")


class ReadyJournal(Journal):
    stage = Stage.READY


async def test_services_start_a_stage_at_a_time_and_stop_and_close_in_reverse() -> None:
    log: list[str] = []
    services = Services([Journal("a", log), ReadyJournal("b", log), Journal("c", log)])
    for stage in (Stage.APP, Stage.READY):
        for service in services.at(stage):
            await service.start()
    services.stop_intake()
    for service in services.closing_order():
        await service.close(1.0)
    assert log == [
        "start a",
        "start c",
        "start b",
        "intake c",
        "intake b",
        "intake a",
        "close c",
        "close b",
        "close a",
    ]
    assert [s.stage for s in services.without(Stage.READY)] == [Stage.APP, Stage.APP]


async def test_an_app_service_that_is_no_service_is_a_config_error(env: None) -> None:
    class Container(FrameworkContainer):
        app_services = providers.List(providers.Object("not a service"))

    container = Container()
    context = ApplicationContext(container, container.settings())
    with pytest.raises(ConfigError, match=r"app_services: a str is not a worker\.Service"):
        await Parts.start(container, context.discovery, Deadline(5.0))


async def test_a_service_whose_start_fails_ends_the_start_up_and_is_closed(env: None) -> None:
    log: list[str] = []

    class Failing(Journal):
        @override
        async def start(self) -> None:
            raise RuntimeError("cannot listen")

    class Container(FrameworkContainer):
        first = providers.Object(Journal("first", log))
        failing = providers.Object(Failing("failing", log))
        app_services = providers.List(first, failing)

    container = Container()
    context = ApplicationContext(container, container.settings())
    with pytest.raises(WorkerError, match=r"^Failing\.start failed: RuntimeError: cannot listen$"):
        await Parts.start(container, context.discovery, Deadline(5.0))
    assert log == ["start first", "close failing", "close first"]
