"""Replicas joining a fleet: every cluster fire exactly once, however the joins are timed.

A replica that was alone and stalled (SIGSTOP: a GC pause, a blocked loop) while another
joined must not run, when it resumes, a fire the newcomer has already claimed; replicas
started together must neither double nor lose a second.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import redis

from tests.cluster.support import (
    APP,
    EVERY_SECOND,
    assert_each_second_once,
    entries,
    fleet_joined,
    start_fleet,
)
from tests.support import RedisServer, WorkerProcess, wait_for
from worker.state.keys import Keys

Spawn = Callable[..., WorkerProcess]


def test_a_lone_replica_stalled_while_another_joins_runs_no_fire_twice(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    (lone,) = start_fleet(spawn_worker, tmp_path, 1, FLEET_TICK_CRON=EVERY_SECOND)
    wait_for(lambda: len(entries(client, "tick")) >= 2, what="the lone replica's ticks")
    wait_for(lambda: stopped_between_fires(lone, client), what="the lone replica stopped idle")
    try:
        (newcomer,) = start_fleet(spawn_worker, tmp_path, 1, first=2, FLEET_TICK_CRON=EVERY_SECOND)
        seen = len(entries(client, "tick"))
        wait_for(lambda: len(entries(client, "tick")) >= seen + 2, what="the newcomer's ticks")
    finally:
        lone.signal(signal.SIGCONT)
    resumed = len(entries(client, "tick"))
    wait_for(lambda: len(entries(client, "tick")) >= resumed + 3, what="ticks after the resume")
    for worker in (lone, newcomer):
        assert worker.stop() == 0
    ticks = entries(client, "tick")
    twice = {fire: n for fire, n in Counter(t[0] for t in ticks).items() if n > 1}
    assert not twice, f"fires run twice: {twice} in {ticks}"
    assert_each_second_once(client, ticks)


def stopped_between_fires(worker: WorkerProcess, client: redis.Redis) -> bool:
    """SIGSTOP `worker`, and keep it stopped only if its last run had ended (its claim marked
    done in Redis). Stopped mid-run, its fire would be the fleet's to count again once its
    lease ran out (DESIGN: a claimer that stalls mid-run is at-least-once): not this test's
    stall, which falls between two fires."""
    worker.signal(signal.SIGSTOP)
    claim: dict[bytes, bytes] = client.hgetall(Keys("worker:").claim("fleet-tick"))  # type: ignore[assignment]
    started = entries(client, "tick")
    if started and claim.get(b"done") == b"1" and claim.get(b"fire") == started[-1][0].encode():
        return True
    worker.signal(signal.SIGCONT)
    return False


def test_three_replicas_started_together_neither_double_nor_lose_a_second(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    workers = [
        spawn_worker(
            *APP,
            HEARTBEAT_FILE=str(tmp_path / f"r{i}.heartbeat"),
            HEARTBEAT_INTERVAL="1",
            WORKER_INSTANCE_ID=f"r{i}",
            LOG_LEVEL="INFO",
            FLEET_TICK_CRON=EVERY_SECOND,
        )
        for i in (1, 2, 3)
    ]
    for worker in workers:
        worker.wait_for_log(" ready ")
    wait_for(lambda: fleet_joined(client, 3), what="three replicas on the control channel")
    joined = len(entries(client, "tick"))
    wait_for(lambda: len(entries(client, "tick")) >= joined + 8, timeout=15, what="8 more ticks")
    for worker in workers:
        assert worker.stop() == 0
    ticks = entries(client, "tick")
    assert len(ticks) >= 8, ticks
    assert_each_second_once(client, ticks)
    assert "Traceback" not in "".join(w.stderr for w in workers)
