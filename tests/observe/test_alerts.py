"""Promise 5: a task that keeps failing keeps being scheduled; alerts after N failures and on
recovery, on the Redis channel and a real webhook; a failing webhook never breaks the worker."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from tests.observe.conftest import Webhook
from tests.support import (
    RedisServer,
    WorkerProcess,
    status_when,
    subscribed,
    task_of,
    wait_for,
)
from worker.connect.redis import make_client
from worker.observe.alerts import Alerts
from worker.run.records import RunRecord

Spawn = Callable[..., WorkerProcess]
FAILING = {"PROBE_FAIL_EVERY": "200ms", "ALERT_AFTER_FAILURES": "3"}
CUSTOM = ("--app", "tests.apps.custom:Container")


def test_failing_task_alerts_after_three_failures_and_again_on_recovery(
    spawn_worker: Spawn, redis_server: RedisServer, webhook: Webhook
) -> None:
    client = redis_server.client()
    with subscribed(redis_server, "worker:alerts") as alerts:
        worker = spawn_worker(*CUSTOM, ALERT_WEBHOOK_URL=webhook.url, **FAILING)
        failing = alerts.wait_count(1)[0].data
        assert failing["state"] == "failing"
        assert failing["task"] == "probe-fail"
        assert failing["failures"] == 3
        assert failing["last_error"] == "RuntimeError: probe failure"
        assert failing["instance"]
        wait_for(lambda: len(webhook.bodies) >= 1, what="webhook POST")
        assert "probe-fail" in webhook.bodies[0]["text"]
        wait_for(lambda: worker.stderr.count("outcome=failed") >= 5, what="still scheduled")
        client.set("probe:healthy", "1")
        recovered = alerts.wait_count(2)[1].data
        assert recovered["state"] == "recovered"
        wait_for(lambda: len(webhook.bodies) >= 2, what="recovery POST")
        assert worker.stop() == 0
    assert len(alerts.messages) == 2, "one alert per state change, not one per failure"
    failures = worker.stderr.count("task=probe-fail outcome=failed")
    assert worker.stderr.count("RuntimeError: probe failure\n") == failures, (
        "each failure logged once with its traceback"
    )
    assert worker.stderr.count("task=probe-tick outcome=ok") > failures, "others unaffected"


def test_consecutive_failures_show_in_status(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    worker = spawn_worker(*CUSTOM, **FAILING)
    worker.wait_for_log("consecutive_failures=3")
    report = status_when(
        spawn_worker, lambda r: task_of(r, "probe-fail")["consecutive_failures"] >= 3, *CUSTOM
    )
    tasks = {t["name"]: t for t in report["tasks"]}
    assert tasks["probe-fail"]["consecutive_failures"] >= 3
    assert tasks["probe-fail"]["outcome"] == "failed"
    assert tasks["probe-fail"]["last_error"] == "RuntimeError: probe failure"
    assert worker.stop() == 0


def test_failing_webhook_is_logged_and_the_worker_goes_on(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    dead = Webhook(status=500)
    try:
        worker = spawn_worker(*CUSTOM, ALERT_WEBHOOK_URL=dead.url, **FAILING)
        worker.wait_for_log("alert webhook failed")
        worker.wait_for_log("consecutive_failures=5")
        assert worker.process.poll() is None
        assert worker.stop() == 0
    finally:
        dead.close()


def test_alerts_off_when_alert_after_failures_is_zero(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    with subscribed(redis_server, "worker:alerts") as alerts:
        worker = spawn_worker(*CUSTOM, **{**FAILING, "ALERT_AFTER_FAILURES": "0"})
        worker.wait_for_log("consecutive_failures=4")
        assert worker.stop() == 0
    assert alerts.messages == []
    assert " alert " not in worker.stderr


async def test_alerts_report_missing_after_consecutive_missed_fires(redis_url: str) -> None:
    """Alerts counted only failures: a task whose fires were all missed (a stalled loop, a
    paused host) never raised an alert."""
    client = make_client(redis_url)
    alerts = Alerts(
        client,
        channel="defects:alerts",
        after=3,
        webhook_url=None,
        instance_id="test",
        redis_timeout=5,
    )
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe("defects:alerts")
    try:
        for n in range(3):
            alerts.on_run(missed_record("late-task", n))
        message = None
        deadline = time.monotonic() + 5
        while message is None and time.monotonic() < deadline:
            message = await pubsub.get_message(timeout=0.1)
        assert message is not None, "no alert published"
        event = json.loads(message["data"])
        assert (event["state"], event["task"], event["failures"]) == ("missing", "late-task", 3)
    finally:
        await alerts.close(1.0)
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()


def missed_record(task: str, n: int) -> RunRecord:
    return RunRecord(
        task=task,
        fire_id=f"{task}:{n}",
        scheduled_for=f"2026-01-01T00:0{n}:00Z",
        started_at="2026-01-01T01:00:00Z",
        outcome="missed",
        duration_ms=0.0,
        lag_ms=0.0,
        missed=1,
        instance="test",
        error="1 fire(s) older than MISFIRE_GRACE",
    )
