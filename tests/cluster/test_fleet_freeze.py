"""Claims sent into a frozen Redis (SIGSTOP) run when it thaws, their replies lost: the
replica that sent them claims over them at once, so no fire waits a lease, and none goes
out late or twice."""

from __future__ import annotations

from pathlib import Path

from tests.cluster.support import EVERY_SECOND, Spawn, assert_each_second_once, entries, start_fleet
from tests.support import RedisServer, run_records, wait_for


def test_claims_whose_replies_a_freeze_lost_are_claimed_over_not_run_late(
    spawn_worker: Spawn, tmp_path: Path, fault_redis: RedisServer
) -> None:
    client = fault_redis.client()
    (worker,) = start_fleet(
        spawn_worker,
        tmp_path,
        1,
        redis_url=fault_redis.url,
        REDIS_TIMEOUT="1",
        FLEET_TICK_CRON=EVERY_SECOND,
    )
    wait_for(lambda: len(entries(client, "tick")) >= 2, what="two ticks")
    fault_redis.freeze()
    try:
        mark = len(worker.stderr)
        worker.wait_for_log("outage started")  # the claim sent meanwhile waits in the socket
        wait_for(lambda: worker.stderr.count("outcome=skipped", mark) >= 2, what="fires fold")
    finally:
        fault_redis.thaw()
    before = len(entries(client, "tick"))
    wait_for(lambda: len(entries(client, "tick")) >= before + 3, what="ticks go on")
    assert worker.stop() == 0
    ticks = entries(client, "tick")
    try:  # a run whose own probe write the freeze cut off ran too: `failed`
        assert_each_second_once(client, ticks, outcomes=("ok", "failed"))
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{worker.stderr}") from None
    late = [
        (r["fire_id"], r["lag_ms"])
        for r in run_records(client, "worker:runs:fleet-tick")
        if r["outcome"] == "ok" and float(r["lag_ms"]) > 2000
    ]
    assert not late, f"a fire ran late by way of a lost claim: {late}\n{worker.stderr}"
    assert "fire recovered" not in worker.stderr
