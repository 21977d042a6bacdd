"""Promise 3 and 4: misfires after a paused process, and per-run time limits."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable

from tests.fires import covered_seconds
from tests.support import RedisServer, WorkerProcess, run_records, subscribed, wait_for

Spawn = Callable[..., WorkerProcess]
EVERY_SECOND = {"SCHEDULE_CRYPTO_TRIGGER": "* * * * * *"}
PAUSE = 5.0


def test_paused_process_sends_one_catch_up_trigger_with_missed(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    with subscribed(redis_server, "crypto-update") as subscriber:
        worker = spawn_worker(**EVERY_SECOND)
        subscriber.wait_count(2)
        worker.signal(signal.SIGSTOP)
        time.sleep(PAUSE)  # the fault itself: the process is stopped this long
        worker.signal(signal.SIGCONT)
        subscriber.wait_count(4)
        assert worker.stop() == 0
    messages = subscriber.messages
    catch_up = messages[2]
    assert catch_up.data["missed"] in (4, 5)
    assert catch_up.received - messages[1].received >= PAUSE
    seconds = covered_seconds(messages)
    assert seconds == list(range(seconds[0], seconds[0] + len(seconds)))
    assert "missed" not in messages[3].data


def test_fires_older_than_misfire_grace_are_recorded_as_missed_not_run(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    with subscribed(redis_server, "crypto-update") as subscriber:
        worker = spawn_worker(MISFIRE_GRACE="2", **EVERY_SECOND)
        subscriber.wait_count(2)
        worker.signal(signal.SIGSTOP)
        time.sleep(PAUSE)  # the fault itself
        worker.signal(signal.SIGCONT)
        subscriber.wait_count(3)
        worker.wait_for_log("task=crypto-trigger outcome=missed")
        assert worker.stop() == 0
    catch_up = subscriber.messages[2].data
    assert catch_up["missed"] in (1, 2), "only the fires within the 2 s grace are folded"
    client = redis_server.client()
    missed = [r for r in run_records(client) if r["outcome"] == "missed"]
    assert len(missed) == 1
    assert int(missed[0]["missed"]) >= 2


def test_time_limit_from_the_environment_cancels_the_run_as_timeout(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    worker = spawn_worker(
        "--app",
        "tests.apps.custom:Container",
        PROBE_SLOW_SECONDS="30",
        TASK_TIME_LIMIT_PROBE_SLOW="300ms",
    )
    log = worker.wait_for_log("task=probe-slow outcome=timeout")
    assert "time limit of 0.3s exceeded" in log
    client = redis_server.client()
    ticks = client.llen("probe:ticks")
    wait_for(lambda: client.llen("probe:ticks") > ticks + 2, what="other tasks go on")
    assert worker.stop() == 0
    summary = json.loads(client.hget("worker:tasks", "probe-slow") or b"{}")
    assert summary["outcome"] == "timeout"
