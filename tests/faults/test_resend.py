"""Promise 2, the lost reply: a publish that landed but whose reply was lost is resent with
the same id, so subscribers can drop the duplicate; the client itself never resends."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from redis.exceptions import TimeoutError as RedisTimeoutError

from tasks.crypto import CryptoTasks
from tests.integration.test_runner import make_runner
from tests.support import RedisServer, subscribed
from worker.connect.outage import OutageMonitor
from worker.connect.redis import make_redis
from worker.run.records import RunRecord
from worker.schedule.cron import CronSchedule
from worker.schedule.definitions import TaskDefinition
from worker.targets.publisher import RedisTriggerPublisher


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


class ReplyLostOnce(RedisTriggerPublisher):
    """The real publisher, whose first reply is lost after the message went out."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attempts = 0

    async def publish(self, payload: Mapping[str, Any]) -> None:
        self.attempts += 1
        await super().publish(payload)
        if self.attempts == 1:
            raise RedisTimeoutError("Timeout reading from socket")


class Records:
    def __init__(self) -> None:
        self.records: list[RunRecord] = []

    def on_run(self, record: RunRecord) -> None:
        self.records.append(record)

    def on_stuck(self, stuck: object) -> None: ...


async def test_resend_after_a_lost_reply_keeps_the_same_id(redis_server: RedisServer) -> None:
    client = make_redis(redis_server.url)
    publisher = ReplyLostOnce(client, "crypto-update")
    outage = OutageMonitor()
    sink = Records()
    runner = make_runner(sink, outage=outage)  # type: ignore[arg-type]
    definition = trigger_definition()
    runner.add(definition, CryptoTasks(publisher, outage).publish_update)
    try:
        with subscribed(redis_server, "crypto-update") as subscriber:
            run = runner.run_now("crypto-trigger")
            assert run is not None
            await run
            messages = subscriber.wait_count(2)
    finally:
        await client.aclose()
    assert publisher.attempts == 2
    assert messages[0].data["id"] == messages[1].data["id"]
    assert [r.outcome for r in sink.records] == ["ok"]


class SlowPublisher(RedisTriggerPublisher):
    """The real publisher with a slow reply, so a fire can arrive while a message is out."""

    async def publish(self, payload: Mapping[str, Any]) -> None:
        await super().publish(payload)
        await asyncio.sleep(0.3)


async def test_fire_arriving_while_a_message_is_on_its_way_gets_its_own_message(
    redis_server: RedisServer,
) -> None:
    client = make_redis(redis_server.url)
    outage = OutageMonitor()
    sink = Records()
    runner = make_runner(sink, outage=outage)  # type: ignore[arg-type]
    definition = trigger_definition()
    publisher = SlowPublisher(client, "crypto-update")
    runner.add(definition, CryptoTasks(publisher, outage).publish_update)
    first = datetime.now(UTC).replace(microsecond=0)
    try:
        with subscribed(redis_server, "crypto-update") as subscriber:
            run = runner.submit("crypto-trigger", [first])
            assert run is not None
            async with asyncio.timeout(10):
                while not subscriber.messages:  # the first message is out, its reply is not
                    await asyncio.sleep(0.01)
            runner.submit("crypto-trigger", [first + timedelta(seconds=1)])
            await run
            messages = subscriber.wait_count(2)
    finally:
        await client.aclose()
    assert [m.data["scheduled_for"] for m in messages] == [
        first.strftime("%Y-%m-%dT%H:%M:%SZ"),
        (first + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    ]
    assert all("missed" not in m.data for m in messages)
