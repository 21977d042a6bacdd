"""What a replica learns from the others' records: a task they define differently (a rolling
deploy, two applications on one Redis and KEY_PREFIX split its fires), and another live
process under its WORKER_INSTANCE_ID. Reported, never refused."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import redis

from tests.cluster.support import APP, Spawn
from tests.support import RedisServer, WorkerProcess, status_when, task_of, wait_for
from worker.state.keys import Keys

DIFFERS = "task fleet-tick is defined differently by"


def _replica(spawn: Spawn, tmp_path: Path, instance: str, name: str, **env: str) -> WorkerProcess:
    return spawn(
        *APP,
        HEARTBEAT_FILE=str(tmp_path / f"{name}.heartbeat"),
        HEARTBEAT_INTERVAL="1",
        WORKER_INSTANCE_ID=instance,
        LOG_LEVEL="INFO",
        **env,
    )


def _beats(client: redis.Redis, instance: str, count: int) -> None:
    """Until the record of `instance` has been written `count` more times."""
    seen: list[Any] = []

    def written() -> bool:
        raw: Any = client.get(Keys("worker:").instance(instance))
        stamp = raw and json.loads(raw)["heartbeat_at"]
        if stamp and stamp not in seen:
            seen.append(stamp)
        return len(seen) > count

    wait_for(written, what=f"{count} heartbeats of {instance}")


def test_replicas_defining_a_task_differently_warn_once_and_status_and_check_flag_it(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    first = _replica(spawn_worker, tmp_path, "r1", "r1", FLEET_TICK_CRON="*/2 * * * * *")
    first.wait_for_log(" ready ")
    second = _replica(spawn_worker, tmp_path, "r2", "r2", FLEET_TICK_CRON="*/3 * * * * *")
    # The newcomer sees r1 at its first beat; r1 sees it within three of its own.
    for worker, line in ((second, f"{DIFFERS} r2 and r1"), (first, f"{DIFFERS} r1 and r2")):
        logs = worker.wait_for_log(line).splitlines()
        (warning,) = [found for found in logs if line in found]
        assert " WARNING " in warning, warning
        assert "schedule: '*/" in warning, warning
    _beats(client, "r1", 4)
    for worker in (first, second):
        assert worker.stderr.count(DIFFERS) == 1, "one warning per (task, other definition)"

    report = status_when(spawn_worker, lambda r: len(r["instances"]) == 2, *APP)
    conflict = task_of(report, "fleet-tick")["definition_conflict"]
    assert conflict["fields"] == ["schedule"], conflict
    held = {d["schedule"]: d["instances"] for d in conflict["definitions"]}
    assert held == {"*/2 * * * * *": ["r1"], "*/3 * * * * *": ["r2"]}, held
    assert task_of(report, "crypto-trigger")["definition_conflict"] is None
    text = spawn_worker(*APP, "status")
    assert text.wait() == 0
    assert "fleet-tick is defined differently by live replicas" in text.stdout

    check = spawn_worker(*APP, "check")
    assert check.wait() == 0, check.stderr
    assert f"warning: {DIFFERS} r1 and r2 (schedule: '*/2 * * * * *' vs '*/3" in check.stdout
    assert check.stdout.rstrip().splitlines()[-1].startswith("ok: ")
    for worker in (first, second):
        assert worker.stop() == 0


def test_a_worker_instance_id_shared_by_two_live_replicas_is_warned_and_marked_in_status(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    first = _replica(spawn_worker, tmp_path, "twin", "a")
    first.wait_for_log(" ready ")
    second = _replica(spawn_worker, tmp_path, "twin", "b")
    for worker in (first, second):
        worker.wait_for_log("WORKER_INSTANCE_ID is also used by another live replica")
    pids = {first.process.pid, second.process.pid}
    report = status_when(spawn_worker, lambda r: any(i["duplicated"] for i in r["instances"]), *APP)
    (record,) = report["instances"]
    assert record["duplicated_with"]["pid"] in pids - {record["pid"]}, record
    text = spawn_worker(*APP, "status")
    assert text.wait() == 0
    assert "DUPLICATED id" in text.stdout
    for worker in (first, second):
        assert worker.stop() == 0


def test_a_replica_restarted_under_its_id_is_not_taken_for_a_duplicate(
    spawn_worker: Spawn, tmp_path: Path, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    killed = _replica(spawn_worker, tmp_path, "again", "a")
    killed.wait_for_log(" ready ")
    _beats(client, "again", 1)
    killed.signal(signal.SIGKILL)  # its record stays until its TTL
    killed.wait()
    restarted = _replica(spawn_worker, tmp_path, "again", "b")
    restarted.wait_for_log(" ready ")
    _beats(client, "again", 4)
    assert "WORKER_INSTANCE_ID is also used" not in restarted.stderr
    report = status_when(spawn_worker, lambda r: len(r["instances"]) == 1, *APP)
    assert report["instances"][0]["duplicated"] is False
    assert restarted.stop() == 0
