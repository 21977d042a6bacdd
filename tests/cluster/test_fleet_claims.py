"""Claims at the edges of a replica's life: its stop, a run cut off, a dead claimer's fire.

Real replicas (tests/apps/fleet.py) on a real redis-server; a dead claimer is a lease
written by the claim script under an owner no replica has.
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.cluster.support import (
    Spawn,
    a_cron_soon,
    entries,
    fleet_joined,
    second_of,
    start_fleet,
)
from tests.support import RedisServer, texts, wait_for
from worker.cluster.claims import ClaimStore
from worker.cluster.replies import ClaimRequest
from worker.run.fire import Fire
from worker.state.keys import Keys

KEYS = Keys("worker:")


def dead_claim(url: str, task: str, *, lease: float) -> int:
    """A claim of `task`'s fire one second ago by `dead`, whose lease runs out in `lease` s."""

    async def claim() -> int:
        client = Redis.from_url(url)
        try:
            seconds, _ = await client.time()
            at = (int(seconds) - 1) * 1000
            store = ClaimStore(client, KEYS, owner="dead", lease=lease, skew=2.0, timeout=5.0)
            fire_id = Fire(task, datetime.fromtimestamp(at / 1000, UTC), precise=False).id
            replies, _ = await store.claim([ClaimRequest(task, at, fire_id, True, None)])
            assert replies[0].status == "won", replies
            return at
        finally:
            await client.aclose()

    return asyncio.run(claim())


def claim_hash(server: RedisServer, task: str) -> dict[str, str]:
    raw: Any = server.client().hgetall(KEYS.claim(task))
    return dict(zip(texts(raw.keys()), texts(raw.values()), strict=True))


@pytest.mark.slow
def test_a_stopping_replica_takes_no_dead_claimers_fire_over_and_another_runs_it(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    workers = start_fleet(
        spawn_worker,
        tmp_path,
        2,
        FLEET_SLOW_CRON=a_cron_soon(4),
        FLEET_SLOW_SECONDS="4",
        CLAIM_LEASE="1",
    )
    wait_for(lambda: fleet_joined(client, 2), what="two replicas on the control channel")
    first = wait_for(lambda: entries(client, "slow"), timeout=10, what="the slow run")[0]
    stopping = next(w for w in workers if w.env["WORKER_INSTANCE_ID"] == first[1])
    other = next(w for w in workers if w is not stopping)
    other.signal(signal.SIGSTOP)  # alive on the control channel, takes nothing over
    try:
        stopping.signal(signal.SIGTERM)  # its drain waits ~4 s for the slow run
        stopping.wait_for_log("shutdown started")  # it takes nothing over from here on
        dead_claim(redis_server.url, "fleet-tick", lease=0.5)
        assert stopping.wait() == 0
        claim = claim_hash(redis_server, "fleet-tick")
        assert (claim["done"], claim["owner"]) == ("0", "dead"), claim  # not taken, not ended
    finally:
        other.signal(signal.SIGCONT)
    ran = wait_for(lambda: entries(client, "tick"), timeout=10, what="the recovered fire")
    assert [(t[1], t[2]) for t in ran] == [(other.env["WORKER_INSTANCE_ID"], "1")]
    assert "recovered fire id differs" not in other.stderr
    assert other.stop() == 0


@pytest.mark.slow
def test_a_run_cancelled_by_a_stop_is_run_again_at_once_by_another_replica(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    workers = start_fleet(
        spawn_worker,
        tmp_path,
        2,
        FLEET_SLOW_CRON=a_cron_soon(4),
        FLEET_SLOW_SECONDS="3",
        SHUTDOWN_TIMEOUT="1",
    )
    wait_for(lambda: fleet_joined(client, 2), what="two replicas on the control channel")
    first = wait_for(lambda: entries(client, "slow"), timeout=10, what="the slow run")[0]
    stopping = next(w for w in workers if w.env["WORKER_INSTANCE_ID"] == first[1])
    other = next(w for w in workers if w is not stopping)
    stopping.signal(signal.SIGTERM)  # the run is cut off after ~1 s
    stopping.wait()
    assert "outcome=cancelled" in stopping.stderr
    again = wait_for(lambda: entries(client, "slow")[1:], timeout=8, what="the run again")[0]
    assert (again[0], again[1], again[2]) == (first[0], other.env["WORKER_INSTANCE_ID"], "1")
    wait_for(lambda: entries(client, "slow", "end"), timeout=8, what="its end")
    assert other.stop() == 0


OTHER_APP = """\
from worker import FrameworkContainer


class Container(FrameworkContainer):
    pass
"""


def test_a_dead_claimers_fire_waits_for_a_replica_whose_app_has_the_task(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    """A replica without the task (another app on the same Redis, or an older version in a
    rolling deploy) takes nothing over: the fire runs, recovered, on the first that has it."""
    client = redis_server.client()
    (tmp_path / "other.py").write_text(OTHER_APP)
    other = spawn_worker("--app", "other:Container", WORKER_INSTANCE_ID="other", LOG_LEVEL="INFO")
    other.wait_for_log(" ready ")
    wait_for(lambda: fleet_joined(client, 1), what="the other app on the control channel")
    at = dead_claim(redis_server.url, "fleet-tick", lease=0.3)
    other.wait_for_log("left for a replica that has it")  # it looked, and took nothing
    claim = claim_hash(redis_server, "fleet-tick")
    assert (claim["owner"], claim["done"]) == ("dead", "0"), claim
    (fleet,) = start_fleet(spawn_worker, tmp_path, 1, first=2)
    ran = wait_for(lambda: entries(client, "tick"), timeout=10, what="the recovered fire")
    assert [(t[1], t[2]) for t in ran] == [("r2", "1")]
    assert second_of(ran[0][0]) * 1000 == at
    assert "fire recovered" not in other.stderr
    assert other.stderr.count("left for a replica that has it") == 1, "one line, not one a look"
    for worker in (other, fleet):
        assert worker.stop() == 0


@pytest.mark.slow
def test_a_dead_claimers_fire_of_a_task_no_live_replica_has_is_ended_in_the_end(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    """Removed from every app (or its app gone): after 12 leases of waiting, one replica ends
    its lease (one warning) so that no claim shows it running for ever."""
    (tmp_path / "other.py").write_text(OTHER_APP)
    others = [
        spawn_worker(
            "--app",
            "other:Container",
            WORKER_INSTANCE_ID=name,
            LOG_LEVEL="INFO",
            CLAIM_LEASE="1",
            HEARTBEAT_FILE=str(tmp_path / f"{name}.heartbeat"),
        )
        for name in ("other-a", "other-b")
    ]
    for other in others:
        other.wait_for_log(" ready ")
    dead_claim(redis_server.url, "fleet-tick", lease=0.3)
    started = time.monotonic()
    wait_for(
        lambda: claim_hash(redis_server, "fleet-tick")["done"] != "0",
        timeout=25,
        what="the lease ended",
    )
    assert time.monotonic() - started >= 12 * 1 - 1.0, "it waited 12 leases first"
    logs = [o.stderr for o in others]
    assert sum(log.count("no live replica has") for log in logs) == 1, logs
    wait_for(  # a finished lease leaves the set at the next look after its deadline
        lambda: redis_server.client().zscore(KEYS.leases, "fleet-tick") is None,
        timeout=10,
        what="the ended lease out of the leases set",
    )
    for other in others:
        assert other.stop() == 0
