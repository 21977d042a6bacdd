"""BullMQ follows REDIS_SENTINELS like the rest of the worker (before: its Queue and Worker
connected to REDIS_URL's host, so with Sentinel they reached no Redis, or the wrong one)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.price_api import PriceApi
from tests.queue_support import in_state, queue_env, stats
from tests.support import RedisServer, WorkerProcess, free_port, wait_for

Spawn = Callable[..., WorkerProcess]
PASSWORD = "s3cret-pw"


@pytest.fixture
def primary() -> Iterator[RedisServer]:
    server = RedisServer(password=PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sentinel(primary: RedisServer) -> Iterator[str]:
    """One `redis-server --sentinel` (quorum 1) that knows the primary: REDIS_SENTINELS."""
    port, folder = free_port(), tempfile.mkdtemp(prefix="sentinel-test-")
    conf = Path(folder) / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
        f"sentinel monitor mymaster 127.0.0.1 {primary.port} 1\n"
        f"sentinel auth-pass mymaster {PASSWORD}\n"
    )
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    process = subprocess.Popen(
        [binary, str(conf), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    ask = redis.Redis(port=port, socket_timeout=2)

    def knows_primary() -> bool:
        try:
            return bool(ask.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"))  # type: ignore[no-untyped-call]
        except redis.RedisError:
            return False

    try:
        wait_for(knows_primary, timeout=10, what="the sentinel")
        yield f"127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def test_enqueue_and_processing_go_through_sentinel(
    spawn_worker: Spawn, primary: RedisServer, sentinel: str, api: PriceApi
) -> None:
    dead = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"  # right password and db, no server
    env = {"REDIS_SENTINELS": sentinel, "REDIS_TIMEOUT": "2"}
    client = primary.client()
    enqueue = spawn_worker("enqueue", "coin-sync", "bitcoin", redis=dead, **env)
    assert enqueue.wait(timeout=30) == 0, enqueue.stderr
    assert in_state(client, "wait") + in_state(client, "delayed"), "the job is on the primary"
    processor = spawn_worker(redis=dead, **queue_env(api.url, **env))
    processor.wait_for_log("processor started")
    wait_for(lambda: stats(client, "bitcoin") is not None, timeout=20, what="the job processed")
