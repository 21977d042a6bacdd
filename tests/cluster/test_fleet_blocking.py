"""A task that blocks its replica's event loop: its claim holds (renewed off the loop), so
its fire runs once, the block is named and counted, and the fleet's other fires go on."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.cluster.support import APP, EVERY_SECOND, Spawn, a_cron_soon, entries, start_fleet
from tests.support import RedisServer, run_records, status_when, wait_for


@pytest.mark.slow
def test_a_task_blocking_its_loop_past_the_lease_runs_each_fire_once(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    workers = start_fleet(
        spawn_worker,
        tmp_path,
        2,
        CLAIM_LEASE="1",  # renewed every 0.33 s: the block holds the loop 3 leases long
        FLEET_BLOCK_CRON="*/4 * * * * *",
        FLEET_BLOCK_SECONDS="3",
        FLEET_TICK_CRON=EVERY_SECOND,
    )
    wait_for(lambda: len(entries(client, "block", "end")) >= 3, timeout=30, what="three blocks")
    ticks_before = len(entries(client, "tick"))
    wait_for(lambda: len(entries(client, "tick")) >= ticks_before + 3, what="ticks go on")
    status = status_when(
        spawn_worker,
        lambda r: any(i.get("loop_blocked_max_ms", 0) >= 2500 for i in r["instances"]),
        *APP,
    )
    for worker in workers:
        assert worker.stop() == 0
    logs = "\n".join(w.stderr for w in workers)
    started = [entry[0] for entry in entries(client, "block")]
    assert len(started) == len(set(started)), f"a fire of the blocker ran twice:\n{logs}"
    assert not any(entry[2] == "1" for entry in entries(client, "block")), "none recovered"
    assert "claim lease lost" not in logs
    blocked = [line for line in logs.splitlines() if "event loop blocked" in line]
    assert blocked, logs
    assert all("task=fleet-block" in line for line in blocked), blocked
    assert max(i["loop_blocked_max_ms"] for i in status["instances"]) < 4000


def test_a_fire_whose_claimers_keep_dying_is_abandoned_after_its_recoveries(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    """CLAIM_MAX_RECOVERIES=1: the first claimer is killed, the one that recovers the fire is
    killed too, and the third replica ends the fire `abandoned` (recorded once, alerted)."""
    client = redis_server.client()
    workers = start_fleet(
        spawn_worker,
        tmp_path,
        3,
        CLAIM_LEASE="1",
        CLAIM_MAX_RECOVERIES="1",
        FLEET_SLOW_CRON=a_cron_soon(),
        FLEET_SLOW_SECONDS="60",
    )
    by_id = {w.env["WORKER_INSTANCE_ID"]: w for w in workers}
    for attempt in range(2):
        wait_for(lambda: len(entries(client, "slow")) > attempt, timeout=20, what="a run")  # noqa: B023
        by_id.pop(entries(client, "slow")[attempt][1]).process.kill()
    runs = wait_for(
        lambda: [r for r in run_records(client, "worker:runs:fleet-slow") if r["outcome"]],
        what="the abandoned record",
    )
    (survivor,) = by_id.values()
    alerts: Any = wait_for(lambda: client.xrange("worker:alerts"), what="the alert")
    assert survivor.stop() == 0
    assert [r["outcome"] for r in runs] == ["abandoned"], runs
    assert runs[0]["instance"] == survivor.env["WORKER_INSTANCE_ID"]
    assert [entry[2] for entry in entries(client, "slow")] == ["0", "1"], "run, recovered once"
    assert [fields[b"state"] for _, fields in alerts] == [b"abandoned"]
    assert "outcome=abandoned" in survivor.stderr


@pytest.mark.slow
def test_a_replica_resumed_after_its_fire_was_recovered_folds_no_newer_fire(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    """Stopped (SIGSTOP) mid-run past its lease: another replica recovers the fire and, as
    its owner now, folds the next one; the resumed run ends as the fire it started with."""
    client = redis_server.client()
    workers = start_fleet(
        spawn_worker,
        tmp_path,
        2,
        CLAIM_LEASE="1",
        FLEET_SLOW_CRON="*/3 * * * * *",
        FLEET_SLOW_SECONDS="4",
    )
    by_id = {w.env["WORKER_INSTANCE_ID"]: w for w in workers}
    first = wait_for(lambda: entries(client, "slow"), timeout=10, what="a slow run")[0]
    stopped = by_id[first[1]]
    stopped.signal(signal.SIGSTOP)
    try:
        wait_for(lambda: any(e[2] == "1" for e in entries(client, "slow")), what="the recovery")
    finally:
        stopped.signal(signal.SIGCONT)
    wait_for(lambda: len(ended_ok(client)) >= 4, timeout=20, what="four runs ended")
    for worker in workers:
        assert worker.stop() == 0
    ended = Counter(fire for fire, _ in ended_ok(client))
    twice = {fire for fire, times in ended.items() if times > 1}
    assert twice <= {first[0]}, f"only the recovered fire ends twice: {ended_ok(client)}"


def ended_ok(client: redis.Redis) -> list[tuple[str, str]]:
    runs = run_records(client, "worker:runs:fleet-slow")
    return [(r["fire_id"], r["instance"]) for r in runs if r["outcome"] == "ok"]


@pytest.mark.slow
def test_runs_held_up_by_another_task_blocking_the_loop_keep_their_leases(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    """A run whose stuck threshold (3 s: every second) passes while another task holds its
    replica's loop 4 s was not going on too long: its lease is kept, its fire runs once."""
    client = redis_server.client()
    start_fleet(
        spawn_worker,
        tmp_path,
        2,
        CLAIM_LEASE="1",
        FLEET_BLOCK_CRON="*/5 * * * * *",
        FLEET_BLOCK_SECONDS="4",
        FLEET_SLOW_CRON=EVERY_SECOND,
        FLEET_SLOW_SECONDS="1.5",  # always in flight: some run is held up by each block
    )
    wait_for(lambda: len(entries(client, "block", "end")) >= 4, timeout=40, what="four blocks")
    slow = entries(client, "slow")
    assert not [e for e in slow if e[2] == "1"], f"a held-up run lost its lease: {slow}"
    assert len({e[0] for e in slow}) == len(slow)
