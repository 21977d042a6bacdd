"""worker.testing: a user's container up with overrides, its tasks run as scheduled runs."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from dependency_injector import providers

from tests.support import RedisServer, run_records
from worker import FrameworkContainer, cron, current_fire, interval
from worker.errors import UsageError, WorkerError
from worker.testing import WorkerTestApp

if TYPE_CHECKING:
    from redis.asyncio import Redis


class Mailbox:
    """The real dependency: tests must never reach it."""

    async def send(self, text: str) -> None:
        raise RuntimeError("the real mailbox was used")


class FakeMailbox:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, text: str) -> None:
        self.sent.append(text)


class GreetingTasks:
    def __init__(self, mailbox: Mailbox, redis: Redis, greeting: str) -> None:
        self._mailbox = mailbox
        self._redis = redis
        self.greeting = greeting

    async def on_startup(self) -> None:
        await self._redis.rpush("kit:hooks", "startup")

    async def on_shutdown(self) -> None:
        await self._redis.rpush("kit:hooks", "shutdown")

    @cron("*/10 * * * *", name="greet")
    async def greet(self) -> None:
        await self._mailbox.send(f"{self.greeting} {current_fire().id}")

    @interval("1h", name="broken")
    async def broken(self) -> None:
        raise ValueError("no greeting today")

    @interval("1h", name="hang", time_limit="50ms")
    async def hang(self) -> None:
        await asyncio.Event().wait()


class Container(FrameworkContainer):
    mailbox = providers.Singleton(Mailbox)
    greeting = providers.Callable(os.environ.get, "GREETING", "hello")
    greetings = providers.Singleton(GreetingTasks, mailbox, FrameworkContainer.redis, greeting)


def kit(redis_url: str, env: dict[str, str] | None = None, **options: Any) -> WorkerTestApp:
    return WorkerTestApp(Container, env={"REDIS_URL": redis_url, **(env or {})}, **options)


async def test_an_overridden_dependency_is_the_one_the_task_uses(redis_url: str) -> None:
    fake = FakeMailbox()
    async with kit(redis_url, overrides={"mailbox": fake}) as app:
        record = await app.run_task("greet")
    assert record.outcome == "ok"
    assert fake.sent == [f"hello {record.fire_id}"]  # current_fire() is the run's fire


async def test_an_override_may_be_a_provider(redis_url: str) -> None:
    async with kit(redis_url, overrides={"mailbox": providers.Singleton(FakeMailbox)}) as app:
        await app.run_task("greet")
        mailbox = await app.service("mailbox")
    assert isinstance(mailbox, FakeMailbox)
    assert len(mailbox.sent) == 1


async def test_service_is_the_instance_the_tasks_run_on(redis_url: str) -> None:
    async with kit(redis_url, overrides={"mailbox": FakeMailbox()}) as app:
        greetings = await app.service("greetings")
        greetings.greeting = "hi"
        await app.run_task("greet")
        mailbox = await app.service("mailbox")
    assert mailbox.sent[0].startswith("hi greet:")


async def test_startup_and_shutdown_hooks_run_around_the_app(
    redis_url: str, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    async with kit(redis_url, overrides={"mailbox": FakeMailbox()}):
        assert client.lrange("kit:hooks", 0, -1) == [b"startup"]
    assert client.lrange("kit:hooks", 0, -1) == [b"startup", b"shutdown"]


async def test_a_failing_task_gives_a_failed_record_with_its_error(redis_url: str) -> None:
    async with kit(redis_url) as app:
        record = await app.run_task("broken")
    assert record.outcome == "failed"
    assert record.error is not None
    assert "no greeting today" in record.error
    assert record.consecutive_failures == 1
    assert app.records == [record]


async def test_a_run_over_its_time_limit_ends_as_timeout(redis_url: str) -> None:
    async with kit(redis_url) as app:
        record = await app.run_task("hang")
    assert record.outcome == "timeout"
    assert record.error == "time limit of 0.05s exceeded"


async def test_a_time_limit_setting_applies_to_the_run(redis_url: str) -> None:
    async with kit(redis_url, env={"TASK_TIME_LIMIT_HANG": "20ms"}) as app:
        record = await app.run_task("hang")
    assert record.error == "time limit of 0.02s exceeded"


async def test_next_fires_follow_the_cron_schedule(redis_url: str) -> None:
    after = datetime(2026, 3, 1, 23, 45, 1, tzinfo=UTC)
    async with kit(redis_url) as app:
        fires = app.next_fires("greet", count=3, after=after)
    assert fires == [
        datetime(2026, 3, 1, 23, 50, tzinfo=UTC),
        datetime(2026, 3, 2, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 0, 10, tzinfo=UTC),
    ]


async def test_next_fires_apply_the_schedule_setting_and_the_zone_across_dst(
    redis_url: str,
) -> None:
    """02:30 Berlin does not exist on 2026-03-29: the fire comes once, right after the gap."""
    env = {"SCHEDULE_GREET": "30 2 * * *", "WORKER_TIMEZONE": "Europe/Berlin"}
    async with kit(redis_url, env=env) as app:
        fires = app.next_fires("greet", count=3, after=datetime(2026, 3, 28, tzinfo=UTC))
    assert fires == [
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
    ]


async def test_env_is_set_inside_and_restored_after(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GREETING", "from the shell")
    monkeypatch.delenv("SCHEDULE_BROKEN", raising=False)
    redis_before = os.environ.get("REDIS_URL")
    fake = FakeMailbox()
    env = {"GREETING": "bonjour", "SCHEDULE_BROKEN": "5m"}
    async with kit(redis_url, overrides={"mailbox": fake}, env=env) as app:
        await app.run_task("greet")
        assert app.next_fires("broken", count=1, after=datetime(2026, 1, 1, tzinfo=UTC)) == [
            datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
        ]
    assert fake.sent[0].startswith("bonjour ")
    assert os.environ["GREETING"] == "from the shell"
    assert "SCHEDULE_BROKEN" not in os.environ
    assert os.environ.get("REDIS_URL") == redis_before


async def test_overrides_on_a_given_container_are_undone_after(redis_url: str) -> None:
    container = Container()
    async with WorkerTestApp(
        container, overrides={"mailbox": FakeMailbox()}, env={"REDIS_URL": redis_url}
    ):
        assert isinstance(container.mailbox(), FakeMailbox)
    assert isinstance(container.mailbox(), Mailbox)


async def test_records_stay_in_memory_unless_history_is_asked_for(
    redis_url: str, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    async with kit(redis_url) as app:
        await app.run_task("broken")
    assert run_records(client) == []
    async with kit(redis_url, record_history=True) as app:
        await app.run_task("broken")
    assert [(r["task"], r["outcome"]) for r in run_records(client)] == [("broken", "failed")]


async def test_an_unknown_task_name_lists_the_tasks(redis_url: str) -> None:
    async with kit(redis_url) as app:
        with pytest.raises(UsageError, match="unknown task 'greeet' \\(tasks: greet, broken, hang"):
            await app.run_task("greeet")


async def test_the_app_is_usable_only_inside_async_with() -> None:
    app = WorkerTestApp(Container)
    with pytest.raises(UsageError, match="inside `async with`"):
        await app.run_task("greet")


class FailingStart:
    async def on_startup(self) -> None:
        raise RuntimeError("cannot start")


class FailingStartContainer(FrameworkContainer):
    failing = providers.Singleton(FailingStart)


async def test_a_failing_startup_hook_fails_the_entry_and_restores_env(redis_url: str) -> None:
    app = WorkerTestApp(FailingStartContainer, env={"REDIS_URL": redis_url, "KIT_MARK": "1"})
    with pytest.raises(WorkerError, match=r"FailingStart\.on_startup failed: .*cannot start"):
        async with app:
            pass
    assert "KIT_MARK" not in os.environ


async def test_an_overridden_redis_client_is_used_as_given(
    redis_url: str, redis_server: RedisServer
) -> None:
    """No check against REDIS_URL: the test's own client is the app's Redis."""
    from redis.asyncio import Redis as AsyncRedis

    client = AsyncRedis.from_url(redis_url)
    unreachable = "redis://127.0.0.1:1/0"
    try:
        overrides = {"redis": client, "mailbox": FakeMailbox()}
        env = {"REDIS_URL": unreachable}
        async with WorkerTestApp(Container, overrides=overrides, env=env) as app:
            assert await app.service("redis") is client
    finally:
        await client.aclose()
    assert redis_server.client().lrange("kit:hooks", 0, -1) == [b"startup", b"shutdown"]


async def test_two_runs_in_one_second_are_two_fires(redis_url: str) -> None:
    """Each `run_task` is a manual fire with an id of its own, as `worker run-task` gives."""
    fake = FakeMailbox()
    async with kit(redis_url, overrides={"mailbox": fake}) as app:
        first = await app.run_task("greet")
        second = await app.run_task("greet")
    assert first.fire_id.startswith("greet:manual:")
    assert second.fire_id.startswith("greet:manual:")
    assert first.fire_id != second.fire_id
    assert fake.sent == [f"hello {first.fire_id}", f"hello {second.fire_id}"]
