"""Promise 2, the lost reply: a publish that landed but whose reply was lost is resent with
the same id, so subscribers can drop the duplicate; the client itself never resends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from redis.exceptions import TimeoutError as RedisTimeoutError

from tasks.crypto import CryptoTasks
from tests.support import RedisServer, subscribed
from worker.clients import make_redis
from worker.definitions import TaskDefinition
from worker.outage import OutageMonitor
from worker.runner import Runner, RunRecord
from worker.schedules import CronSchedule
from worker.triggers import RedisTriggerPublisher


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

    def record(self, record: RunRecord) -> None:
        self.records.append(record)


async def test_resend_after_a_lost_reply_keeps_the_same_id(redis_server: RedisServer) -> None:
    client = make_redis(redis_server.url)
    publisher = ReplyLostOnce(client, "crypto-update")
    outage = OutageMonitor()
    sink = Records()
    runner = Runner(instance_id="t", misfire_grace=60, sink=sink, outage=outage)
    definition = TaskDefinition(
        name="crypto-trigger",
        provider="crypto",
        attribute="publish_update",
        schedule=CronSchedule("*/15 * * * *"),
        scope="cluster",
        timezone=ZoneInfo("UTC"),
        time_limit=0,
        disabled=False,
        is_async=True,
    )
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
