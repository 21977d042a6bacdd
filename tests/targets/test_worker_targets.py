"""Trigger targets end to end: a real worker, real redis-server and nats-server processes."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable

from tests.fires import second
from tests.support import RedisServer, WorkerProcess, free_port, run_records, wait_for
from tests.targets.support import NatsServer, NatsSubscriber

Spawn = Callable[..., WorkerProcess]
EVERY_SECOND = {
    "SCHEDULE_CRYPTO_TRIGGER": "* * * * * *",
    "REDIS_TIMEOUT": "1",
    "OUTAGE_LOG_INTERVAL": "1",
}


def consecutive(seconds: list[int]) -> bool:
    return seconds == list(range(seconds[0], seconds[0] + len(seconds)))


def test_core_nats_subscriber_gets_one_message_per_fire_and_status_shows_the_target(
    spawn_worker: Spawn, nats_server: NatsServer, redis_server: RedisServer
) -> None:
    port = free_port()
    subscriber = NatsSubscriber(nats_server.url, "crypto.updates")
    try:
        env = {"TRIGGER_TARGETS": "nats", "NATS_URL": nats_server.url, **EVERY_SECOND}
        worker = spawn_worker(METRICS_PORT=str(port), **env)
        messages = subscriber.wait_count(3)
        status = spawn_worker("status", "--json", **env)
        assert status.wait(timeout=15) == 0, status.stderr
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        assert worker.stop() == 0
    finally:
        subscriber.close()
    seconds = [second(m.data["scheduled_for"]) for m in messages]
    assert consecutive(seconds), seconds
    assert all(m.received - s < 0.5 for m, s in zip(messages, seconds, strict=True))
    report = json.loads(status.stdout)["targets"]
    assert [t["name"] for t in report] == ["nats"]
    assert report[0]["last_delivered"].startswith("crypto-trigger:")
    records = [r for r in run_records(redis_server.client()) if r["task"] == "crypto-trigger"]
    assert records
    assert all(r["targets_delivered"] == "nats" for r in records)
    text = metrics.decode()
    assert 'worker_target_deliveries_total{result="delivered",target="nats"}' in text
    assert "worker_nats_up 1.0" in text


def test_a_late_redis_stream_reader_reads_the_history_each_fire_once(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    worker = spawn_worker(TRIGGER_TARGETS="redis-stream", **EVERY_SECOND)
    wait_for(lambda: client.xlen("crypto-update:stream") >= 3, what="three entries")
    assert worker.stop() == 0
    entries: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange("crypto-update:stream")  # type: ignore[assignment]
    payloads = [json.loads(fields[b"data"]) for _, fields in entries]
    assert [fields[b"id"].decode() for _, fields in entries] == [p["id"] for p in payloads]
    seconds = [second(p["scheduled_for"]) for p in payloads]
    assert consecutive(seconds), seconds
    assert [entry_id.decode() for entry_id, _ in entries] == [f"{s * 1000}-0" for s in seconds]


def test_bad_nats_url_is_one_line_exit_78_without_the_secret(spawn_worker: Spawn) -> None:
    worker = spawn_worker(
        "check", TRIGGER_TARGETS="nats", NATS_URL="nats://user:s3cret@127.0.0.1:99999"
    )
    assert worker.wait(timeout=15) == 78
    lines = worker.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "NATS_URL" in lines[0]
    assert "s3cret" not in worker.stderr + worker.stdout


def test_an_unknown_target_is_one_line_exit_78_listing_the_valid_ones(spawn_worker: Spawn) -> None:
    worker = spawn_worker(TRIGGER_TARGETS="redis-pubsub,kafka")
    assert worker.wait(timeout=15) == 78
    lines = worker.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "TRIGGER_TARGETS" in lines[0]
    assert "'kafka'" in lines[0]
    assert "redis-pubsub, redis-stream, nats, jetstream" in lines[0]


def test_check_reaches_every_target_69_names_the_unreachable_one_78_a_refused_login(
    spawn_worker: Spawn, nats_server: NatsServer
) -> None:
    both = {"TRIGGER_TARGETS": "redis-pubsub,jetstream"}
    ok = spawn_worker("check", NATS_URL=nats_server.url, **both)
    assert ok.wait(timeout=15) == 0, ok.stderr
    assert "nats reachable at" in ok.stdout
    started = time.monotonic()
    down = spawn_worker("check", NATS_URL=f"nats://127.0.0.1:{free_port()}", **both)
    assert down.wait(timeout=15) == 69, down.stderr
    assert time.monotonic() - started < 6
    assert "NATS_URL: cannot reach nats" in down.stderr
    secured = NatsServer(user="worker", password="right-one")
    secured.start()
    try:
        url = f"nats://worker:wrong-one@127.0.0.1:{secured.port}"
        refused = spawn_worker("check", NATS_URL=url, **both)
        assert refused.wait(timeout=15) == 78, refused.stderr
    finally:
        secured.stop()
    assert "authentication failed" in refused.stderr
    assert "wrong-one" not in refused.stderr + refused.stdout


def test_shutdown_with_nats_down_exits_within_shutdown_timeout_and_logs_the_pending_fire(
    spawn_worker: Spawn,
) -> None:
    worker = spawn_worker(
        TRIGGER_TARGETS="nats",
        NATS_URL=f"nats://127.0.0.1:{free_port()}",
        SHUTDOWN_TIMEOUT="2",
        **EVERY_SECOND,
    )
    worker.wait_for_log("targets_pending=nats")
    started = time.monotonic()
    assert worker.stop() == 0
    assert time.monotonic() - started < 2.5
    left = next(x for x in worker.stderr.splitlines() if "trigger not delivered" in x)
    assert "target=nats" in left
    assert "fire=crypto-trigger:" in left
    assert "Traceback" not in worker.stderr


def test_a_lane_already_in_outage_when_the_stop_begins_gets_at_most_a_second(
    spawn_worker: Spawn,
) -> None:
    """Before: the stop waited its share of SHUTDOWN_TIMEOUT (5 s of 10 here) for a target
    down for a while; its pending fire is still logged as not delivered."""
    worker = spawn_worker(
        TRIGGER_TARGETS="nats",
        NATS_URL=f"nats://127.0.0.1:{free_port()}",
        SHUTDOWN_TIMEOUT="10",
        **EVERY_SECOND,
    )
    worker.wait_for_log("outage started")
    worker.wait_for_log("targets_pending=nats")
    started = time.monotonic()
    assert worker.stop() == 0
    assert time.monotonic() - started < 3.0
    assert "trigger not delivered before shutdown" in worker.stderr
