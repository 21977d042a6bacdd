"""The fleet: N real worker processes on one real redis-server, every cluster fire once.

Fires are counted by `scheduled_for` from what the probes (tests/apps/fleet.py) write;
replicas really die (SIGKILL), Redis really goes away, clocks are really skewed (faketime).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import redis

from tests.cluster.support import (
    APP,
    EVERY_SECOND,
    LIBFAKETIME,
    Spawn,
    a_cron_soon,
    assert_each_second_once,
    entries,
    fleet_joined,
    start_fleet,
)
from tests.fires import covered_seconds
from tests.support import (
    RedisServer,
    WorkerProcess,
    run_records,
    subscribed,
    texts,
    wait_for,
    worker_env,
)


def test_two_replicas_run_each_second_once(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    workers = start_fleet(spawn_worker, tmp_path, 2, FLEET_TICK_CRON=EVERY_SECOND)
    wait_for(lambda: len(entries(client, "tick")) >= 4, what="four ticks")
    for worker in workers:
        assert worker.stop() == 0
    ticks = entries(client, "tick")
    assert_each_second_once(client, ticks)
    assert "Traceback" not in "".join(w.stderr for w in workers)


@pytest.mark.slow
def test_three_replicas_run_every_second_exactly_once_and_an_idle_kill_loses_none(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    workers = start_fleet(spawn_worker, tmp_path, 3, FLEET_TICK_CRON=EVERY_SECOND)
    wait_for(lambda: len(entries(client, "tick")) >= 10, timeout=20, what="ten ticks")
    owner = entries(client, "tick")[-1][1]
    idle = next(w for w in workers if w.env["WORKER_INSTANCE_ID"] != owner)
    idle.process.kill()  # idle: the last fire is another replica's, and runs take ~1 ms
    killed_at = len(entries(client, "tick"))
    wait_for(lambda: len(entries(client, "tick")) >= killed_at + 10, timeout=20, what="ten more")
    for worker in workers:
        if worker is not idle:
            assert worker.stop() == 0
    ticks = entries(client, "tick")
    assert_each_second_once(client, ticks)
    assert {tick[1] for tick in ticks} >= {"r1", "r2", "r3"} - {idle.env["WORKER_INSTANCE_ID"]}
    assert all(tick[2] == "0" and tick[3] == "0" for tick in ticks), "nothing recovered or missed"


@pytest.mark.slow
def test_a_replica_killed_mid_run_has_its_fire_recovered_once_with_the_same_id(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    workers = start_fleet(
        spawn_worker, tmp_path, 3, FLEET_SLOW_CRON=a_cron_soon(6), FLEET_SLOW_SECONDS="3"
    )
    # Before the fire, every replica is on the control channel (each hears the lease).
    wait_for(lambda: fleet_joined(client, 3), what="three replicas on the control channel")
    first = wait_for(lambda: entries(client, "slow"), timeout=10, what="the slow run")[0]
    owner = next(w for w in workers if w.env["WORKER_INSTANCE_ID"] == first[1])
    owner.process.kill()
    killed = time.monotonic()
    wait_for(lambda: len(entries(client, "slow")) >= 2, timeout=10, what="the recovered run")
    recovered_after = time.monotonic() - killed
    wait_for(lambda: entries(client, "slow", "end"), timeout=10, what="the recovered run's end")
    starts = entries(client, "slow")
    assert recovered_after <= 5.0 + 1.0, f"recovered {recovered_after:.2f}s after the kill"
    assert len(starts) == 2, starts
    again = starts[1]
    assert again[0] == first[0], "the same fire id"
    assert again[2] == "1"
    assert again[1] != first[1]
    survivor = next(w for w in workers if w.env["WORKER_INSTANCE_ID"] == again[1])
    wait_for(lambda: "recovered=True" in survivor.stderr, what="the recovered run's log line")
    wait_for(lambda: [r for r in _runs(client, "fleet-slow") if r["outcome"] == "ok"])
    history = [r for r in _runs(client, "fleet-slow") if r["outcome"] == "ok"]
    assert [(r["fire_id"], r["recovered"]) for r in history] == [(first[0], "True")]
    for worker in workers:
        if worker is not owner:
            assert worker.stop() == 0


@pytest.mark.slow
def test_a_replica_killed_between_its_claim_and_the_instant_has_the_fire_run_once_elsewhere(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    """A fire is claimed ahead of its instant: a claimer that dies before the instant leaves
    a lease that runs out, and another replica runs the fire then, once, with its id."""
    client = redis_server.client()
    workers = start_fleet(
        spawn_worker, tmp_path, 3, FLEET_SLOW_CRON=a_cron_soon(6), FLEET_SLOW_SECONDS="0"
    )
    wait_for(lambda: fleet_joined(client, 3), what="three replicas on the control channel")
    key, deadline = "worker:{claims}:claim:fleet-slow", time.monotonic() + 10
    claim: dict[str, str] = {}
    while not claim.get("at") and time.monotonic() < deadline:  # a tight look: the lead
        found: dict[bytes, bytes] = client.hgetall(key)  # type: ignore[assignment]
        claim = dict(zip(texts(found.keys()), texts(found.values()), strict=True))
    assert claim.get("at"), "the fire was claimed"
    owner = next(w for w in workers if w.env["WORKER_INSTANCE_ID"] == claim["owner"])
    owner.process.kill()
    killed_ahead_ms = int(claim["at"]) - time.time() * 1000
    assert killed_ahead_ms > 0, "killed before the instant"
    assert not entries(client, "slow"), "nothing ran before the instant"
    started = wait_for(lambda: entries(client, "slow"), timeout=10, what="the recovered run")
    wait_for(lambda: [r for r in _runs(client, "fleet-slow") if r["outcome"] == "ok"])
    for worker in workers:
        if worker is not owner:
            assert worker.stop() == 0
    (run,) = entries(client, "slow")
    assert run == started[0]
    assert run[0] == claim["fire"], "the claimed fire's id"
    assert run[1] != claim["owner"]
    assert run[2] == "1", "recovered"


@pytest.mark.slow
def test_a_task_with_recover_false_is_not_run_again_after_its_claimer_dies(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    workers = start_fleet(
        spawn_worker,
        tmp_path,
        2,
        FLEET_ONCE_CRON=a_cron_soon(),
        FLEET_SLOW_SECONDS="3",
        CLAIM_LEASE="1",
    )
    first = wait_for(lambda: entries(client, "once"), timeout=10, what="the run")[0]
    owner = next(w for w in workers if w.env["WORKER_INSTANCE_ID"] == first[1])
    owner.process.kill()
    other = next(w for w in workers if w is not owner)
    # Two lease lengths and a recovery poll later, nothing has taken it over.
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        assert len(entries(client, "once")) == 1
        time.sleep(0.1)
    assert "recovered" not in other.stderr
    assert other.stop() == 0


def _runs(client: redis.Redis, task: str) -> list[dict[str, str]]:
    return run_records(client, f"worker:runs:{task}")


@pytest.mark.slow
def test_after_a_redis_outage_one_replica_sends_one_catch_up_message_with_fleet_missed(
    spawn_worker: Spawn, tmp_path: Path, fault_redis: RedisServer
) -> None:
    with subscribed(fault_redis, "crypto-update") as subscriber:
        workers = start_fleet(
            spawn_worker,
            tmp_path,
            3,
            redis_url=fault_redis.url,
            SCHEDULE_CRYPTO_TRIGGER=EVERY_SECOND,
            OUTAGE_LOG_INTERVAL="1",
        )
        subscriber.wait_count(2)
        fault_redis.kill()
        wait_for(
            lambda: all(w.stderr.count("outcome=skipped") >= 4 for w in workers),
            timeout=15,
            what="every replica folding",
        )
        for worker in workers:  # hold them while the subscriber re-subscribes
            worker.signal(signal.SIGSTOP)
        try:
            fault_redis.start()
            client = fault_redis.client()
            wait_for(lambda: client.pubsub_numsub("crypto-update")[0][1] >= 1, what="resubscribe")
        finally:
            for worker in workers:
                worker.signal(signal.SIGCONT)
        before = len(subscriber.messages)
        wait_for(lambda: len(subscriber.messages) >= before + 3, what="catch-up and two more")
        for worker in workers:
            assert worker.stop() == 0
    messages = subscriber.messages
    after = messages[before:]
    assert after[0].data["missed"] >= 4, after[0].data
    assert all("missed" not in m.data for m in after[1:]), [m.data for m in after]
    ids = [m.data["id"] for m in messages]
    assert len(ids) == len(set(ids)), "no id twice"
    seconds = covered_seconds(messages)
    assert seconds == list(range(seconds[0], seconds[0] + len(seconds))), "no second lost"


@pytest.mark.slow
@pytest.mark.skipif(not LIBFAKETIME, reason="missing tool: Debian's faketime (libfaketime)")
def test_replicas_with_skewed_clocks_never_double_a_fire(
    spawn_worker: Spawn, tmp_path: Path, redis_url: str, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    workers = start_fleet(spawn_worker, tmp_path, 1, FLEET_TICK_CRON=EVERY_SECOND)
    skewed = [
        _skewed(tmp_path, redis_url, number, offset)
        for number, offset in ((2, "+1.5s"), (3, "-1.5s"))
    ]
    try:
        for worker in skewed:
            # Counted from when its queue processor is up: under libfaketime the bullmq import
            # that follows `ready` in a thread can hold a replica's loop for seconds.
            worker.wait_for_log("processor started", timeout=30)
        start = len(entries(client, "tick"))
        wait_for(lambda: len(entries(client, "tick")) >= start + 12, timeout=20, what="12 ticks")
        for worker in workers + skewed:
            assert worker.stop() == 0
    finally:
        for worker in skewed:
            worker.close()
    ticks = entries(client, "tick")
    assert_each_second_once(client, ticks)
    ahead = [t for t in ticks[start:] if t[1] == "r2"]
    # The replica 1.5 s ahead reaches each fire first; under load another may now and then.
    logs = "\n".join(w.stderr for w in workers + skewed)
    assert len(ahead) >= len(ticks[start:]) // 2, f"the replica ahead claims most fires:\n{logs}"


def _skewed(tmp_path: Path, redis_url: str, number: int, offset: str) -> WorkerProcess:
    """A replica whose wall clock runs `offset` off: libfaketime preloaded, as `faketime -f`
    does (whose own process would stay the parent and swallow SIGTERM); monotonic untouched."""
    env = worker_env(
        redis_url,
        HEARTBEAT_FILE=str(tmp_path / f"r{number}.heartbeat"),
        WORKER_INSTANCE_ID=f"r{number}",
        LOG_LEVEL="INFO",
        FLEET_TICK_CRON=EVERY_SECOND,
        LD_PRELOAD=LIBFAKETIME[0],
        FAKETIME=offset,
        FAKETIME_DONT_FAKE_MONOTONIC="1",
    )
    return WorkerProcess(list(APP), env, tmp_path)
