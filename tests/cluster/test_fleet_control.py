"""`worker pause / resume / trigger` against a live fleet of real processes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cluster.support import APP, EVERY_SECOND, entries, second_of, start_fleet
from tests.support import RedisServer, WorkerProcess, wait_for

Spawn = Callable[..., WorkerProcess]


def command(spawn: Spawn, *args: str) -> WorkerProcess:
    process = spawn(*APP, *args, LOG_LEVEL="WARNING")
    process.wait(timeout=30)
    return process


def paused_records(client: object, task: str) -> list[dict[str, str]]:
    raw = client.xrange(f"worker:runs:{task}")  # type: ignore[attr-defined]
    records = [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in raw]
    return [r for r in records if r["outcome"] == "skipped" and r["error"] == "paused"]


def test_control_commands_name_unknown_tasks_with_exit_2(spawn_worker: Spawn) -> None:
    for args in (["pause", "nope"], ["resume", "nope"], ["trigger", "nope"]):
        process = command(spawn_worker, *args)
        assert process.process.returncode == 2, process.stderr
        assert "fleet-tick" in process.stderr, "the message lists the known names"


def test_trigger_with_no_live_replica_exits_69(spawn_worker: Spawn) -> None:
    process = command(spawn_worker, "trigger", "fleet-tick")
    assert process.process.returncode == 69, process.stderr
    assert "no live replica" in process.stderr


@pytest.mark.slow
def test_pause_resume_and_trigger_hold_across_a_live_fleet_and_a_late_joiner(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    workers = start_fleet(spawn_worker, tmp_path, 3, FLEET_TICK_CRON=EVERY_SECOND)
    wait_for(lambda: len(entries(client, "tick")) >= 2, what="ticks")
    paused = command(spawn_worker, "pause", "fleet-tick")
    assert paused.process.returncode == 0, paused.stderr
    for worker in workers:  # every live replica obeys within 1 s
        worker.wait_for_log("task paused fleet-wide", timeout=1.5)
    late = start_fleet(spawn_worker, tmp_path, 1, first=4, FLEET_TICK_CRON=EVERY_SECOND)[0]
    workers.append(late)
    ran = len(entries(client, "tick"))
    wait_for(lambda: len(paused_records(client, "fleet-tick")) >= 4, what="paused fires")
    assert len(entries(client, "tick")) <= ran + 1, "a fire in flight at the pause at most"

    trigger = command(spawn_worker, "trigger", "fleet-tick", "--wait")
    assert trigger.process.returncode == 0, trigger.stderr
    manual = [t for t in entries(client, "tick") if ":manual:" in t[0]]
    assert len(manual) == 1, "a paused task runs when triggered, on one replica"
    assert manual[0][0] in trigger.stdout
    # The fire id and the replica that ran it, then the outcome.
    first, outcome = trigger.stdout.splitlines()
    assert f"claimed by {manual[0][1]}" in first, trigger.stdout
    assert outcome == f"{manual[0][0]}: ok"

    resumed = command(spawn_worker, "resume", "fleet-tick")
    assert resumed.process.returncode == 0, resumed.stderr
    count = len(entries(client, "tick"))
    wait_for(lambda: len(entries(client, "tick")) >= count + 3, what="ticks after resume")
    for worker in workers:
        assert worker.stop() == 0
    skipped = [second_of(r["fire_id"]) for r in paused_records(client, "fleet-tick")]
    assert len(skipped) == len(set(skipped)), "each paused fire recorded once fleet-wide"
    ran_ids = [t[0] for t in entries(client, "tick")]
    assert len(ran_ids) == len(set(ran_ids))
    scheduled = {second_of(i) for i in ran_ids if ":manual:" not in i}
    assert not scheduled & set(skipped), "resuming replays no paused fire"
