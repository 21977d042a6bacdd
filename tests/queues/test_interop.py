"""The real BullMQ protocol: Node BullMQ (tests/node) produces for us and reads our queue;
two replicas firing coin-sync each second enqueue each coin once per fire."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.price_api import PriceApi
from tests.queue_support import enqueue, in_state, queue_env, stats
from tests.support import ROOT, WorkerProcess, run_records, wait_for

Spawn = Callable[..., WorkerProcess]
NODE = ROOT / "tests" / "node"
needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE / "node_modules" / "bullmq").is_dir(),
    reason="missing tool: node with tests/node/node_modules (npm ci in tests/node)",
)


def node(script: str, *args: str) -> str:
    done = subprocess.run(
        ["node", str(NODE / script), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=NODE,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@needs_node
def test_a_job_from_a_node_bullmq_producer_is_processed(
    spawn_worker: Spawn, api: PriceApi, client: redis.Redis, redis_url: str
) -> None:
    worker = spawn_worker(**queue_env(api.url))
    worker.wait_for_log("processor started")
    assert node("produce.js", redis_url, "coin-sync", "from-node", '{"coin": "ethereum"}') == (
        "from-node"
    )
    wait_for(lambda: stats(client, "ethereum"), timeout=10, what="node job processed")
    wait_for(lambda: in_state(client, "completed") == ["from-node"], what="completed")
    assert worker.stop() == 0


@needs_node
async def test_a_job_enqueued_here_is_counted_by_node_bullmq(redis_url: str) -> None:
    await enqueue(redis_url, "bitcoin", job_id="from-python")
    counts = json.loads(node("counts.js", redis_url, "coin-sync"))
    assert counts["waiting"] == 1
    assert sum(counts.values()) == 1


def test_two_replicas_enqueue_each_coin_once_per_fire(
    spawn_worker: Spawn, client: redis.Redis, tmp_path: Path
) -> None:
    env = {
        "WORKER_ROLES": "scheduler",
        "SCHEDULE_COIN_SYNC": "1s",
        "SYNC_MAX_DELAY": "0",
        "COINS": "bitcoin,ethereum",
    }
    replicas = [spawn_worker(HEARTBEAT_FILE=str(tmp_path / f"hb-{n}"), **env) for n in range(2)]

    def fires_run() -> dict[str, list[str]]:
        runs = [r for r in run_records(client) if r["task"] == "coin-sync" and r["outcome"] == "ok"]
        by_fire: dict[str, list[str]] = {}
        for run in runs:
            by_fire.setdefault(run["fire_id"], []).append(run["instance"])
        return by_fire

    # Both replicas fire every second; the cluster claim gives each fire to one of them.
    wait_for(lambda: len(fires_run()) >= 3, timeout=20, what="three fires run")
    for replica in replicas:
        assert replica.stop() == 0
    ran = fires_run()
    assert all(len(instances) == 1 for instances in ran.values()), ran
    jobs = in_state(client, "wait") + in_state(client, "delayed")
    assert len(jobs) == len(set(jobs))
    for fire in ran:
        assert {f"{fire}:bitcoin", f"{fire}:ethereum"} <= set(jobs)
    fires = {job.rsplit(":", 1)[0] for job in jobs}
    assert len(jobs) == 2 * len(fires)
