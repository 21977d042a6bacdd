"""Promise 5: a task that keeps failing keeps being scheduled; alerts after N failures and on
recovery, on the Redis channel and a real webhook; a failing webhook never breaks the worker."""

from __future__ import annotations

from collections.abc import Callable

from tests.observe.conftest import Webhook
from tests.support import RedisServer, WorkerProcess, status_when, subscribed, task_of, wait_for

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
