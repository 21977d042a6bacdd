"""A read-only replica behind REDIS_URL: refused at start with one line (exit 78); a primary
demoted under a running worker is an outage the trigger waits out, losing no run record."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.apps.lone import LONE
from tests.support import (
    RedisServer,
    WorkerProcess,
    run_records,
    subscribed,
    wait_for,
)

Spawn = Callable[..., WorkerProcess]
PASSWORD = "replica-s3cret"
EVERY_SECOND = {"SCHEDULE_CRYPTO_TRIGGER": "* * * * * *", "OUTAGE_LOG_INTERVAL": "1"}


@pytest.fixture
def replica(fault_redis: RedisServer) -> Iterator[RedisServer]:
    server = RedisServer(password=PASSWORD, replicaof=fault_redis.port)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("command", [["check"], []], ids=["check", "run"])
def test_replica_behind_redis_url_is_one_line_exit_78(
    spawn_worker: Spawn, replica: RedisServer, command: list[str]
) -> None:
    worker = spawn_worker(*command, redis=replica.url)
    assert worker.wait(timeout=15) == 78, worker.stderr
    lines = worker.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "REDIS_URL" in lines[0]
    assert "read-only" in lines[0]
    assert PASSWORD not in worker.stderr + worker.stdout
    assert "Traceback" not in worker.stderr


def test_primary_demoted_mid_run_is_an_outage_the_trigger_retries_through(
    spawn_worker: Spawn, fault_redis: RedisServer, own_redis: RedisServer
) -> None:
    client = fault_redis.client()
    with subscribed(fault_redis, "crypto-update") as subscriber:
        # An instance trigger: a cluster fire would wait for its claim, not reach the lane.
        worker = spawn_worker(*LONE, redis=fault_redis.url, **EVERY_SECOND)
        subscriber.wait_count(1)
        mark = len(worker.stderr)
        client.replicaof("127.0.0.1", own_redis.port)
        demoted = time.time()
        try:
            wait_for(
                lambda: worker.stderr[mark:].count("targets_pending=redis-pubsub") >= 2,
                what="two fires pending in the redis-pubsub lane",
            )
            during = [m for m in subscriber.messages if m.received > demoted + 0.1]
        finally:
            client.replicaof("NO", "ONE")
        promoted = time.time()
        wait_for(
            lambda: any(m.received > promoted for m in subscriber.messages),
            what="a message once the server is primary again",
        )
        wait_for(
            lambda: any(
                r["task"] == "crypto-trigger" and r.get("targets_pending") == "redis-pubsub"
                for r in run_records(client)
            ),
            what="the records of the read-only time written after",
        )
        assert worker.stop() == 0
    log = worker.stderr[mark:]
    assert during == [], [m.data for m in during]
    lane = [x for x in log.splitlines() if "outage started" in x and "service=redis-pubsub" in x]
    assert len(lane) == 1, log
    assert "ReadOnlyError" in lane[0]
    assert "Traceback" not in worker.stderr
    catch_up = next(m for m in subscriber.messages if m.received > promoted)
    assert catch_up.data.get("missed", 0) >= 1
