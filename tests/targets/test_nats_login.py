"""A NATS login refused at start is exit 78 in `run` as in `check` (before: `run` started and
retried every 0.5 s for ever); refused later, it is an outage of the NATS targets with its
alert, and the worker goes on (Redis targets too) until the login is accepted again."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from tests.support import RedisServer, WorkerProcess, until, wait_for
from tests.targets.support import NatsServer

Spawn = Callable[..., WorkerProcess]
RIGHT, WRONG = "right-pa55", "wrong-pa55"


@pytest.fixture
def secured_nats() -> Iterator[NatsServer]:
    """nats-server from a config file admitting `worker` with password RIGHT."""
    server = NatsServer(users={"worker": RIGHT})
    server.start()
    yield server
    server.stop()


def nats_url(server: NatsServer, password: str) -> str:
    return f"nats://worker:{password}@127.0.0.1:{server.port}"


def test_a_refused_nats_login_at_start_exits_78_at_once_without_the_password(
    spawn_worker: Spawn, secured_nats: NatsServer
) -> None:
    url = nats_url(secured_nats, WRONG)
    for targets in ("redis-pubsub,jetstream", "nats"):
        started = time.monotonic()
        worker = spawn_worker(NATS_URL=url, TRIGGER_TARGETS=targets)
        assert worker.wait(timeout=20) == 78, worker.stderr
        assert time.monotonic() - started < 8  # the interpreter's start is most of it
        assert worker.stderr.splitlines() == [
            f"worker: error: NATS_URL: nats://worker:***@127.0.0.1:{secured_nats.port}: "
            "authentication failed"
        ], worker.stderr
        assert WRONG not in worker.stderr + worker.stdout


def alerts(client: redis.Redis, prefix: str) -> list[dict[str, Any]]:
    entries: Any = client.xrange(f"{prefix}alerts")
    return [json.loads(fields[b"data"]) for _, fields in entries]


def target_alert(client: redis.Redis, prefix: str, state: str) -> dict[str, Any] | None:
    found = [a for a in alerts(client, prefix) if a.get("target") == "jetstream"]
    return next((a for a in found if a["state"] == state), None)


def spawn_publishing(spawn_worker: Spawn, server: NatsServer, prefix: str) -> WorkerProcess:
    worker = spawn_worker(
        NATS_URL=nats_url(server, RIGHT),
        TRIGGER_TARGETS="redis-pubsub,jetstream",
        SCHEDULE_CRYPTO_TRIGGER="* * * * * *",
        ALERT_AFTER_FAILURES="2",
        KEY_PREFIX=prefix,
    )
    worker.wait_for_log("task=crypto-trigger outcome=ok")
    return worker


def assert_outage_then_recovery(
    worker: WorkerProcess, client: redis.Redis, prefix: str, restore: Callable[[], None]
) -> None:
    failing = wait_for(lambda: target_alert(client, prefix, "failing"), timeout=20, what="alert")
    assert failing is not None
    assert "authentication failed" in failing["last_error"], failing
    assert "outage started" in worker.stderr
    assert worker.process.poll() is None  # an outage, not a crash
    runs_before = worker.stderr.count("task=crypto-trigger outcome=ok")
    wait_for(
        lambda: worker.stderr.count("task=crypto-trigger outcome=ok") > runs_before + 1,
        what="runs going on (redis-pubsub delivers) during the outage",
    )
    restore()
    wait_for(lambda: target_alert(client, prefix, "recovered"), timeout=20, what="recovery")
    started = time.monotonic()
    assert worker.stop() == 0, worker.stderr[-3000:]
    assert time.monotonic() - started < 3
    assert RIGHT not in worker.stderr + worker.stdout


def test_a_server_restarted_with_other_credentials_is_an_outage_with_its_alert(
    spawn_worker: Spawn, secured_nats: NatsServer, redis_server: RedisServer
) -> None:
    prefix = f"login-{uuid.uuid4().hex[:6]}:"
    worker = spawn_publishing(spawn_worker, secured_nats, prefix)
    secured_nats.kill()
    secured_nats.set_users({"worker": "another-one"})
    secured_nats.start()

    def restore() -> None:
        secured_nats.set_users({"worker": RIGHT})
        secured_nats.reload()

    assert_outage_then_recovery(worker, redis_server.client(), prefix, restore)


def test_a_login_revoked_while_connected_is_an_outage_and_recovers_when_restored(
    spawn_worker: Spawn, secured_nats: NatsServer, redis_server: RedisServer
) -> None:
    """nats-server drops a client it no longer admits with 'Authorization Violation', and
    nats-py then closes its client for good: the connection must start over by itself."""
    prefix = f"revoke-{uuid.uuid4().hex[:6]}:"
    worker = spawn_publishing(spawn_worker, secured_nats, prefix)
    secured_nats.set_users({"someone-else": "x"})
    secured_nats.reload()

    def restore() -> None:
        secured_nats.set_users({"worker": RIGHT})
        secured_nats.reload()

    assert_outage_then_recovery(worker, redis_server.client(), prefix, restore)


@pytest.mark.parametrize(
    ("kind", "subject"),
    [("nats", "crypto.updates"), ("jetstream", "crypto.updates"), ("nats", "Crypto.Updates")],
)
async def test_a_publish_the_server_denies_is_not_delivered_but_failing_saying_why(
    kind: str, subject: str, redis_server: RedisServer, logs: list[str]
) -> None:
    """Before: core NATS counted it delivered (the flush is answered, the message dropped),
    and JetStream took it for a lost ack (`maybe_delivered`, retried as a timeout). nats-py
    lower-cases the server's error text: a subject with capitals is refused all the same."""
    from tests.targets.support import fanout_of, fire_at
    from worker.connect.nats import NatsConnection
    from worker.connect.redis import make_client
    from worker.targets.nats import JetStreamTarget, NatsTarget

    server = NatsServer(users={"worker": RIGHT}, deny_publish=(subject,))
    server.start()
    connection = NatsConnection([nats_url(server, RIGHT)], name="t", timeout=1.0, where="t")
    target: Any = NatsTarget(connection, subject, 1.0)
    if kind == "jetstream":
        target = JetStreamTarget(
            connection, subject=subject, stream="CRYPTO", max_age=60, timeout=1.0
        )
    client = make_client(redis_server.url)
    fanout = fanout_of(target, client)
    try:
        await fanout.start()
        await fanout.publish(fire_at(datetime.now(UTC)))
        lane = fanout.lanes[0]
        await until(lambda: lane.failing, timeout=10, what="the lane failing")
        assert lane.last_delivered is None
        assert lane.snapshot()["maybe_delivered"] is None
    finally:
        await fanout.close(0.1)
        await connection.close()
        await client.aclose()
        server.stop()
    assert any("permissions violation" in line for line in logs if "outage started" in line)


def test_a_user_denied_the_jetstream_api_is_78_in_check_and_in_run(spawn_worker: Spawn) -> None:
    """Before: `check` said 69 (no answer within 3s) and `run` sat in an outage for ever."""
    server = NatsServer(users={"worker": RIGHT}, deny_publish=("$JS.API.>",))
    server.start()
    try:
        env = {"NATS_URL": nats_url(server, RIGHT), "TRIGGER_TARGETS": "jetstream"}
        for command in (("check",), ()):
            worker = spawn_worker(*command, **env)
            assert worker.wait(timeout=30) == 78, (command, worker.stdout, worker.stderr)
            error = [line for line in worker.stderr.splitlines() if "error:" in line]
            assert len(error) == 1, worker.stderr
            assert "the user may not use JetStream" in error[0]
            assert RIGHT not in worker.stdout + worker.stderr
    finally:
        server.stop()
