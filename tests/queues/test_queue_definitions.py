"""`@processor` definitions, per-queue options and the queue settings."""

from __future__ import annotations

from typing import Any

import pytest

from worker import processor
from worker.app.discovery import discover
from worker.errors import ConfigError, DefinitionError
from worker.queues.options import QueueOptions, resolve_options


def test_processor_metadata_is_attached_and_nothing_else_happens() -> None:
    class Service:
        @processor("emails", concurrency=2)
        async def send_email(self, data: Any) -> None: ...

    from worker.queues.decorators import get_processor_spec

    spec = get_processor_spec(Service.send_email)
    assert spec is not None
    assert (spec.queue, spec.concurrency, spec.name) == ("emails", 2, None)


@pytest.mark.parametrize(
    ("queue", "kwargs", "problem"),
    [
        ("", {}, "queue name"),
        ("a:b", {}, "':'"),
        ("q", {"concurrency": 0}, "concurrency"),
        ("q", {"concurrency": 1001}, "concurrency must be an integer between 1 and 1000"),
        ("q", {"concurrency": 2.5}, "concurrency must be an integer between 1 and 1000"),
        ("q", {"concurrency": True}, "concurrency"),
    ],
)
def test_a_bad_processor_argument_is_a_definition_error(
    queue: str, kwargs: dict[str, Any], problem: str
) -> None:
    with pytest.raises(DefinitionError, match=problem):

        class Service:
            @processor(queue, **kwargs)
            async def handle(self, data: Any) -> None: ...


def test_a_processor_is_async_and_takes_the_jobs_data() -> None:
    with pytest.raises(DefinitionError, match="async"):

        class Plain:
            @processor("q")
            def handle(self, data: Any) -> None: ...

    with pytest.raises(DefinitionError, match="one argument"):

        class NoData:
            @processor("q")
            async def handle(self) -> None: ...


def test_two_processors_of_one_queue_are_a_definition_error() -> None:
    from dependency_injector import containers, providers

    class A:
        @processor("q")
        async def one(self, data: Any) -> None: ...

    class B:
        @processor("q")
        async def two(self, data: Any) -> None: ...

    class Container(containers.DeclarativeContainer):
        a = providers.Singleton(A)
        b = providers.Singleton(B)

    with pytest.raises(DefinitionError, match="two processors"):
        discover(Container)


def test_defaults_are_3_attempts_exponential_2s_keep_10_and_5() -> None:
    options = resolve_options({"coin-sync": None}, {})["coin-sync"]
    assert options == QueueOptions(3, 2.0, 5, 10, 5)
    assert options.job_options() == {
        "attempts": 3,
        "backoff": {"type": "exponential", "delay": 2000},
        "removeOnComplete": 10,
        "removeOnFail": 5,
    }
    assert [options.backoff_before(n) for n in (1, 2)] == [2.0, 4.0]


def test_settings_override_the_decorators_concurrency_per_queue() -> None:
    overrides = {"COIN_SYNC": {"attempts": 5.0, "backoff": 0.5, "concurrency": 9.0}}
    options = resolve_options({"coin-sync": 2, "other": 2}, overrides)
    assert options["coin-sync"] == QueueOptions(5, 0.5, 9, 10, 5)
    assert options["other"].concurrency == 2


def test_an_override_of_no_known_queue_names_the_variable_and_the_queues() -> None:
    with pytest.raises(
        ConfigError, match=r"QUEUE_COINSYNC_ATTEMPTS: names no queue \(queues: coin-sync\)"
    ):
        resolve_options({"coin-sync": None}, {"COINSYNC": {"attempts": 2.0}})


def test_queue_settings_read_roles_coins_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    from config import Settings  # COINS is the shipped coin-sync's setting
    from worker.settings.loading import load_settings

    monkeypatch.setenv("WORKER_ROLES", " Processor ")
    monkeypatch.setenv("COINS", "Bitcoin, solana,,bitcoin")
    monkeypatch.setenv("QUEUE_COIN_SYNC_BACKOFF", "500ms")
    settings = load_settings(Settings, env_file=None)
    assert settings.roles == ("processor",)
    assert settings.coin_list == ("bitcoin", "solana")
    assert settings.queue_overrides == {"COIN_SYNC": {"backoff": 0.5}}
    assert settings.queue_prefix == "bull"
    assert (settings.queue_lock_duration, settings.queue_max_retry_after) == (30.0, 3600.0)
    assert settings.price_api_max_bytes == 1_000_000


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        ("QUEUE_COIN_SYNC_CONCURRENCY", "1000", "concurrency", 1000.0),
        ("QUEUE_COIN_SYNC_ATTEMPTS", "100", "attempts", 100.0),
        ("QUEUE_COIN_SYNC_BACKOFF", "1h", "backoff", 3600.0),
        ("QUEUE_COIN_SYNC_BACKOFF", "0", "backoff", 0.0),
    ],
)
def test_queue_settings_at_the_ends_of_their_ranges_are_taken(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str, expected: float
) -> None:
    from config import Settings
    from worker.settings.loading import load_settings

    monkeypatch.setenv(name, value)
    settings = load_settings(Settings, env_file=None)
    assert settings.queue_overrides == {"COIN_SYNC": {field: expected}}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WORKER_ROLES", "scheduler,cook", "WORKER_ROLES"),
        ("QUEUE_COIN_SYNC_ATTEMPTS", "0", "QUEUE_COIN_SYNC_ATTEMPTS: must be between 1 and 100"),
        ("QUEUE_COIN_SYNC_ATTEMPTS", "101", "QUEUE_COIN_SYNC_ATTEMPTS: must be between 1 and 100"),
        ("QUEUE_COIN_SYNC_BACKOFF", "soon", "QUEUE_COIN_SYNC_BACKOFF: must be a duration"),
        ("QUEUE_COIN_SYNC_BACKOFF", "61m", "QUEUE_COIN_SYNC_BACKOFF: must be at most 1h"),
        ("QUEUE_COIN_SYNC_CONCURRENCY", "0", "_CONCURRENCY: must be between 1 and 1000, not '0'$"),
        (
            "QUEUE_COIN_SYNC_CONCURRENCY",
            "1000000000000",
            "_CONCURRENCY: must be between 1 and 1000$",
        ),
        ("QUEUE_LOCK_DURATION", "500ms", "QUEUE_LOCK_DURATION: must be between 1s and 1h"),
        ("QUEUE_LOCK_DURATION", "2h", "QUEUE_LOCK_DURATION: must be between 1s and 1h"),
        ("QUEUE_MAX_RETRY_AFTER", "25h", "QUEUE_MAX_RETRY_AFTER: must be between 0s and 24h"),
        ("PRICE_API_MAX_BYTES", "999", "PRICE_API_MAX_BYTES: must be between 1000 and 100000000"),
        ("PRICE_API_MAX_BYTES", "1GB", "PRICE_API_MAX_BYTES: must be an integer"),
        ("PRICE_API_URL", "ftp://x", "PRICE_API_URL"),
    ],
)
def test_a_bad_queue_setting_is_one_configuration_error(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    from config import Settings  # PRICE_API_URL is the shipped coin-sync's setting
    from worker.settings.loading import load_settings

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings(Settings, env_file=None)
