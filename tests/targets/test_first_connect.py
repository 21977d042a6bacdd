"""Until a target's first connection succeeds, a run does not wait for it (before: every run
waited DELIVERY_WAIT, 0.25 s, for a target that never connected, until its lane declared an
outage: each crypto-trigger run took ~252 ms for the first 5 s)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from tests.support import RedisServer, WorkerProcess, free_port, wait_for
from tests.targets.support import fanout_of, fire_at
from worker.connect.redis import make_client
from worker.targets.redis import RedisPubSubTarget

Spawn = Callable[..., WorkerProcess]


@pytest.fixture
def frozen_redis(own_redis: RedisServer) -> Iterator[RedisServer]:
    """A Redis that accepts connections and never answers (SIGSTOP) from the start."""
    own_redis.freeze()
    yield own_redis
    own_redis.thaw()


async def test_a_publish_does_not_wait_for_a_redis_that_never_answered(
    frozen_redis: RedisServer,
) -> None:
    client = make_client(frozen_redis.url, timeout=2.0)
    fanout = fanout_of(RedisPubSubTarget(client, "crypto-update"), client)
    await fanout.start()
    try:
        took = []
        for _ in range(3):
            started = time.monotonic()
            await fanout.publish(fire_at(datetime.now(UTC)))
            took.append(time.monotonic() - started)
    finally:
        await fanout.close(0.1)
        await client.aclose()
    assert max(took) < 0.1, took


def test_crypto_trigger_runs_do_not_wait_for_a_nats_that_never_connected(
    spawn_worker: Spawn,
) -> None:
    """JetStream's lane waits up to REDIS_TIMEOUT for its first connection before it calls
    an outage; the runs in between record the target pending at once."""
    worker = spawn_worker(
        LOG_FORMAT="json",
        TRIGGER_TARGETS="redis-pubsub,jetstream",
        NATS_URL=f"nats://127.0.0.1:{free_port()}",
        SCHEDULE_CRYPTO_TRIGGER="* * * * * *",
        REDIS_TIMEOUT="5",
    )

    def runs() -> list[dict[str, object]]:
        lines = worker.log_records()
        return [r for r in lines if r.get("message") == "run" and r.get("task") == "crypto-trigger"]

    wait_for(lambda: len(runs()) >= 3, timeout=15, what="three crypto-trigger runs")
    assert worker.stop() == 0, worker.stderr[-3000:]
    before_outage = runs()[:3]
    assert all(r["outcome"] == "ok" for r in before_outage), before_outage
    assert all(float(str(r["duration_ms"])) < 100 for r in before_outage), before_outage
