"""A target that is down never delays another: NATS or Redis killed mid-run and restarted."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable

import pytest

from tests.apps.lone import LONE
from tests.fires import second
from tests.support import RedisServer, WorkerProcess, subscribed, wait_for
from tests.targets.support import NatsServer, NatsSubscriber, stream_messages

Spawn = Callable[..., WorkerProcess]
EVERY_SECOND = {
    "SCHEDULE_CRYPTO_TRIGGER": "* * * * * *",
    "REDIS_TIMEOUT": "1",
    "OUTAGE_LOG_INTERVAL": "1",
}


def covered(payloads: list[dict[str, object]]) -> list[int]:
    """Each distinct fire's second and those its `missed` stands for, oldest first."""
    seen = {str(p["id"]): p for p in payloads}
    seconds: list[int] = []
    for p in sorted(seen.values(), key=lambda p: str(p["scheduled_for"])):
        newest, missed = second(str(p["scheduled_for"])), int(str(p.get("missed", 0)))
        seconds += [newest - k for k in range(missed, -1, -1)]
    return seconds


@pytest.mark.slow
def test_nats_killed_and_restarted_loses_no_fire_and_redis_subscribers_keep_their_lag(
    spawn_worker: Spawn, nats_server: NatsServer, redis_server: RedisServer
) -> None:
    with subscribed(redis_server, "crypto-update") as subscriber:
        worker = spawn_worker(
            TRIGGER_TARGETS="redis-pubsub,jetstream", NATS_URL=nats_server.url, **EVERY_SECOND
        )
        subscriber.wait_count(2)
        nats_server.kill()
        worker.wait_for_log("outage started")
        during = len(subscriber.messages)
        subscriber.wait_count(during + 3)
        nats_server.start()
        worker.wait_for_log("outage ended", timeout=10)
        subscriber.wait_count(len(subscriber.messages) + 2)
        assert worker.process.poll() is None
        assert worker.stop() == 0
    redis = [m for m in subscriber.messages]
    assert all(m.received - second(m.data["scheduled_for"]) < 0.3 for m in redis[during:])
    assert all("missed" not in m.data for m in redis)
    stored = asyncio.run(stream_messages(nats_server.url, "CRYPTO", "crypto.updates"))
    seconds = covered(stored)
    assert len(seconds) == len(set(seconds)), stored
    assert seconds == list(range(seconds[0], seconds[0] + len(seconds))), stored
    assert any(p.get("missed") for p in stored), "one catch-up for the outage"
    assert seconds[-1] >= second(redis[-1].data["scheduled_for"]) - 1
    assert "Traceback" not in worker.stderr


@pytest.mark.slow
def test_redis_killed_and_restarted_nats_subscribers_keep_their_lag_redis_gets_a_catch_up(
    spawn_worker: Spawn, nats_server: NatsServer, own_redis: RedisServer
) -> None:
    subscriber = NatsSubscriber(nats_server.url, "crypto.updates")
    try:
        # An instance trigger: a cluster fire waits for its claim while Redis is away.
        worker = spawn_worker(
            *LONE,
            redis=own_redis.url,
            TRIGGER_TARGETS="redis-stream,nats",
            NATS_URL=nats_server.url,
            **EVERY_SECOND,
        )
        subscriber.wait_count(2)
        own_redis.kill()
        worker.wait_for_log("outage started")
        during = len(subscriber.messages)
        subscriber.wait_count(during + 3)
        worker.signal(signal.SIGSTOP)  # the restarted server is empty: hold the catch-up...
        try:
            own_redis.start()
        finally:
            worker.signal(signal.SIGCONT)  # ...until it is up, so its first entry is that
        client = own_redis.client()
        wait_for(lambda: client.xlen("crypto-update:stream") >= 2, what="catch-up and one more")
        assert worker.process.poll() is None
        assert worker.stop() == 0
    finally:
        subscriber.close()
    nats = [m.data for m in subscriber.messages]
    assert all(
        m.received - second(m.data["scheduled_for"]) < 0.3 for m in subscriber.messages[during:]
    )
    seconds = [second(p["scheduled_for"]) for p in nats]
    assert seconds == list(range(seconds[0], seconds[0] + len(seconds))), nats
    entries = client.xrange("crypto-update:stream")
    catch_up = json.loads(entries[0][1][b"data"])  # type: ignore[index]
    assert catch_up["missed"] >= 2, catch_up
    assert "Traceback" not in worker.stderr
