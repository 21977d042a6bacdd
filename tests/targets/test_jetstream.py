"""JetStream stores each fire once: a resend after a lost ack is de-duplicated by its id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.errors import TimeoutError as NatsTimeoutError
from typing_extensions import override

from tests.support import RedisServer
from tests.targets.support import NatsServer, fanout_of, fire_at, stream_messages
from worker.connect.nats import NatsConnection
from worker.connect.redis import make_client
from worker.targets.base import Message
from worker.targets.nats import JetStreamTarget


class AckLostOnce(JetStreamTarget):
    """The real JetStream target whose first ack is lost after the stream stored the message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attempts = 0

    @override
    async def send(self, message: Message) -> None:
        self.attempts += 1
        await super().send(message)
        if self.attempts == 1:
            raise NatsTimeoutError


async def test_a_durable_consumer_created_after_n_fires_reads_each_once_after_a_lost_ack(
    nats_server: NatsServer, redis_server: RedisServer
) -> None:
    connection = NatsConnection([nats_server.url], name="test", timeout=2.0, where="test")
    target = AckLostOnce(
        connection, subject="crypto.updates", stream="CRYPTO", max_age=3600, timeout=2.0
    )
    client = make_client(redis_server.url)
    fanout = fanout_of(target, client)
    await fanout.start()
    first = datetime.now(UTC).replace(microsecond=0)
    fires = [fire_at(first + timedelta(seconds=k)) for k in range(5)]
    try:
        await fanout.publish(fires[0])
        async with asyncio.timeout(10):
            while fanout.lanes[0].last_delivered != fires[0]["id"]:  # resent, same id
                await asyncio.sleep(0.01)
        for payload in fires[1:]:
            await fanout.publish(payload)
        await fanout.close(5.0)
    finally:
        await connection.close()
        await client.aclose()
    stored = await stream_messages(nats_server.url, "CRYPTO", "crypto.updates")
    assert target.attempts == 6
    assert [m["id"] for m in stored] == [f["id"] for f in fires]
