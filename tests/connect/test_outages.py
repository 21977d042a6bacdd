"""Promise 1 and 2: Redis absent or killed — the worker keeps its schedule, comes back within
2 s of Redis, logs the outage as events, and loses or doubles no trigger."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable
from datetime import datetime

from tests.fires import covered_seconds, second
from tests.support import RedisServer, WorkerProcess, subscribed, wait_for
from worker.connect.outage import Backoff

Spawn = Callable[..., WorkerProcess]
EVERY_SECOND = {"SCHEDULE_CRYPTO_TRIGGER": "* * * * * *", "OUTAGE_LOG_INTERVAL": "1"}


REDIS_OUTAGE = re.compile(r"outage started .*service=redis(?![-\w])")
"""The Redis client's own outage line (each trigger target's lane has its own)."""


def log_time(line: str) -> float:
    stamp = line.split(" ", 1)[0]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_redis_absent_at_start_worker_starts_and_works_when_it_appears(
    spawn_worker: Spawn,
) -> None:
    server = RedisServer()  # not started yet
    worker = spawn_worker(redis=server.url, SCHEDULE_HEALTH_CHECK="1s", **EVERY_SECOND)
    worker.wait_for_log(" ready ")
    worker.wait_for_log("outage started")
    worker.wait_for_log("outage continues")
    try:
        server.start()
        back = time.time()
        log = worker.wait_for_log("outage ended", timeout=5)
        ended = log_time(next(x for x in log.splitlines() if "outage ended" in x))
        assert ended - back < 2.0, f"reconnected {ended - back:.2f}s after redis came back"
        client = server.client()
        wait_for(lambda: client.xlen("worker:runs") > 0, what="queued run records written")
        assert worker.process.poll() is None
        assert len(REDIS_OUTAGE.findall(log)) == 1
        assert len(re.findall(r"outage started .*service=redis-pubsub", log)) <= 1
        assert "Traceback" not in worker.stderr
        assert worker.stop() == 0
    finally:
        server.stop()


def test_redis_killed_and_restarted_other_tasks_keep_schedule_and_reconnect_within_2s(
    spawn_worker: Spawn, fault_redis: RedisServer
) -> None:
    worker = spawn_worker(redis=fault_redis.url, SCHEDULE_HEALTH_CHECK="1s", **EVERY_SECOND)
    worker.wait_for_log("task=crypto-trigger outcome=ok")
    fault_redis.kill()
    worker.wait_for_log("outage started")
    worker.wait_for_log("outage continues")
    wait_for(
        lambda: (
            worker.stderr.split("outage started", 1)[1].count("task=health-check outcome=ok") >= 3
        ),
        what="three health checks during the outage",
    )
    fault_redis.start()
    back = time.time()
    log = worker.wait_for_log("outage ended", timeout=5)
    lines = log.splitlines()
    ended_line = next(x for x in lines if "outage ended" in x)
    assert log_time(ended_line) - back < 2.0
    assert re.search(r"down_s=\d", ended_line)
    start = next(i for i, x in enumerate(lines) if "outage started" in x)
    end = lines.index(ended_line)
    during = [x for x in lines[start:end] if "task=health-check outcome=ok" in x]
    assert len(during) >= 3, "health-check kept its schedule through the outage"
    assert len(REDIS_OUTAGE.findall(log)) == 1
    assert "Traceback" not in worker.stderr
    assert worker.stop() == 0


def test_trigger_outage_sends_exactly_one_message_for_the_newest_fire_with_missed(
    spawn_worker: Spawn, fault_redis: RedisServer
) -> None:
    """Redis holds the claims: while it is down a cluster fire waits for its claim and newer
    fires fold into that run (not into the trigger lane), so one catch-up goes out."""
    with subscribed(fault_redis, "crypto-update") as subscriber:
        worker = spawn_worker(redis=fault_redis.url, **EVERY_SECOND)
        subscriber.wait_count(2)
        fault_redis.kill()
        wait_for(
            lambda: worker.stderr.count("task=crypto-trigger outcome=skipped") >= 3,
            what="three fires folded into the retrying run",
        )
        # Hold the worker while the subscriber re-subscribes, so no message can slip past it.
        stopped = time.time()
        worker.signal(signal.SIGSTOP)
        try:
            fault_redis.start()
            client = fault_redis.client()
            wait_for(lambda: client.pubsub_numsub("crypto-update")[0][1] >= 1, what="resubscribe")
        finally:
            worker.signal(signal.SIGCONT)
            resumed = time.time()
        before = len(subscriber.messages)
        wait_for(lambda: len(subscriber.messages) >= before + 3, what="catch-up and two more")
        assert worker.stop() == 0
    messages = subscriber.messages
    catch_up = messages[2]
    assert catch_up.data["missed"] >= 3
    ids = [m.data["id"] for m in messages]
    assert len(ids) == len(set(ids)), "no id twice"
    seconds = covered_seconds(messages)
    assert seconds == list(range(seconds[0], seconds[0] + len(seconds))), (
        "no second lost or doubled"
    )
    # Fires due while the worker itself was stopped may fold into one more message (the
    # catch-up's claim can go out before the scheduler wakes); none from the outage before.
    for message in messages[3:]:
        if "missed" in message.data:
            newest = second(message.data["scheduled_for"])
            assert newest - message.data["missed"] >= int(stopped) - 1, message.data
            assert newest - 1 <= resumed, message.data


def test_backoff_instances_jitter_independently_within_the_upper_half() -> None:
    """The old Backoff returned the nominal 0.1, 0.2, 0.4 … exactly: replicas that lost Redis
    together reconnected in lockstep."""
    nominal = [min(0.1 * 2**n, 1.0) for n in range(8)]
    sequences = []
    for _ in range(2):
        backoff = Backoff()
        delays = [backoff.next() for _ in nominal]
        for delay, expected in zip(delays, nominal, strict=True):
            assert expected / 2 <= delay <= expected
        sequences.append(delays)
    assert sequences[0] != sequences[1]
