"""The lost reply: a send that landed but whose reply was lost is resent with the same id
(subscribers drop the duplicate); a newer fire that folds it names it in `maybe_delivered`
and does not count it in `missed`. The client itself never resends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from redis.exceptions import TimeoutError as RedisTimeoutError
from typing_extensions import override

from tasks.crypto import CryptoTasks
from tests.run_support import make_runner
from tests.support import RedisServer, subscribed
from tests.targets.support import fanout_of, fire_at
from worker.connect.redis import make_client
from worker.run.records import RunRecord
from worker.schedule.cron import CronSchedule
from worker.schedule.definitions import TaskDefinition
from worker.targets.base import Message
from worker.targets.redis import RedisPubSubTarget


def trigger_definition() -> TaskDefinition:
    return TaskDefinition(
        name="crypto-trigger",
        provider="crypto",
        attribute="publish_update",
        schedule=CronSchedule("* * * * * *"),
        scope="cluster",
        timezone=ZoneInfo("UTC"),
        time_limit=0,
        disabled=False,
        is_async=True,
    )


class ReplyLostOnce(RedisPubSubTarget):
    """The real Pub/Sub target whose first reply is lost after the message went out; it
    raises only once `release` is set, so a test can hand a newer fire over meanwhile."""

    def __init__(self, *args: Any, hold: bool = False, refuse: bool = False) -> None:
        super().__init__(*args)
        self.attempts = 0
        self.release = asyncio.Event()
        if not hold:
            self.release.set()
        self._refuse = refuse

    @override
    async def send(self, message: Message) -> None:
        self.attempts += 1
        if self.attempts == 1 and self._refuse:
            await self.release.wait()
            raise ConnectionError("refused")
        await super().send(message)
        if self.attempts == 1:
            await self.release.wait()
            raise RedisTimeoutError("Timeout reading from socket")


class SlowTarget(RedisPubSubTarget):
    """The real target with a slow reply, so a fire can arrive while a message is out."""

    @override
    async def send(self, message: Message) -> None:
        await super().send(message)
        await asyncio.sleep(0.3)


class Records:
    def __init__(self) -> None:
        self.records: list[RunRecord] = []

    def on_run(self, record: RunRecord) -> None:
        self.records.append(record)

    def on_stuck(self, stuck: object) -> None: ...


async def test_resend_after_a_lost_reply_keeps_the_same_id(redis_server: RedisServer) -> None:
    client = make_client(redis_server.url)
    target = ReplyLostOnce(client, "crypto-update")
    fanout = fanout_of(target, client)
    sink = Records()
    runner = make_runner(sink)  # type: ignore[arg-type]
    runner.add(trigger_definition(), CryptoTasks(fanout).publish_update)
    try:
        with subscribed(redis_server, "crypto-update") as subscriber:
            run = runner.run_now("crypto-trigger")
            assert run is not None
            record = await run
            messages = await asyncio.to_thread(subscriber.wait_count, 2)
            await fanout.close(1.0)
    finally:
        await client.aclose()
    assert target.attempts == 2
    assert messages[0].data["id"] == messages[1].data["id"] == record.fire_id
    assert "maybe_delivered" not in messages[1].data
    assert [r.outcome for r in sink.records] == ["ok"]


async def test_fire_folded_after_a_lost_reply_names_it_in_maybe_delivered_not_in_missed(
    redis_server: RedisServer,
) -> None:
    client = make_client(redis_server.url)
    target = ReplyLostOnce(client, "crypto-update", hold=True)
    fanout = fanout_of(target, client)
    first = datetime.now(UTC).replace(microsecond=0)
    try:
        with subscribed(redis_server, "crypto-update") as subscriber:
            publishing = asyncio.create_task(fanout.publish(fire_at(first)))
            await asyncio.to_thread(subscriber.wait_count, 1)  # landed; its reply is "lost"
            await fanout.publish(fire_at(first + timedelta(seconds=1)))
            target.release.set()
            await publishing
            messages = await asyncio.to_thread(subscriber.wait_count, 2)
            await fanout.close(1.0)
    finally:
        await client.aclose()
    old, catch_up = messages[0].data, messages[1].data
    assert catch_up["scheduled_for"] > old["scheduled_for"]
    assert catch_up["maybe_delivered"] == old["id"]
    assert "missed" not in catch_up
    assert len(messages) == 2


async def test_fire_folded_after_a_refused_send_is_counted_in_missed(
    redis_server: RedisServer,
) -> None:
    client = make_client(redis_server.url)
    target = ReplyLostOnce(client, "crypto-update", hold=True, refuse=True)
    fanout = fanout_of(target, client)
    first = datetime.now(UTC).replace(microsecond=0)
    try:
        with subscribed(redis_server, "crypto-update") as subscriber:
            publishing = asyncio.create_task(fanout.publish(fire_at(first)))
            async with asyncio.timeout(5):
                while target.attempts < 1:
                    await asyncio.sleep(0.01)
            await fanout.publish(fire_at(first + timedelta(seconds=1)))
            target.release.set()
            await publishing
            messages = await asyncio.to_thread(subscriber.wait_count, 1)
            await fanout.close(1.0)
    finally:
        await client.aclose()
    assert [m.data["missed"] for m in messages] == [1]
    assert "maybe_delivered" not in messages[0].data


async def test_fire_arriving_while_a_message_is_on_its_way_gets_its_own_message(
    redis_server: RedisServer,
) -> None:
    client = make_client(redis_server.url)
    fanout = fanout_of(SlowTarget(client, "crypto-update"), client)
    first = datetime.now(UTC).replace(microsecond=0)
    try:
        with subscribed(redis_server, "crypto-update") as subscriber:
            publishing = asyncio.create_task(fanout.publish(fire_at(first)))
            await asyncio.to_thread(subscriber.wait_count, 1)  # out, its reply is not
            await fanout.publish(fire_at(first + timedelta(seconds=1)))
            await publishing
            messages = await asyncio.to_thread(subscriber.wait_count, 2)
            await fanout.close(2.0)
    finally:
        await client.aclose()
    assert [m.data["scheduled_for"] for m in messages] == [
        first.strftime("%Y-%m-%dT%H:%M:%SZ"),
        (first + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    ]
    assert all("missed" not in m.data for m in messages)
