"""BullMQ follows REDIS_SENTINELS like the rest of the worker (before: its Queue and Worker
connected to REDIS_URL's host, so with Sentinel they reached no Redis, or the wrong one)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.price_api import PriceApi
from tests.queue_support import in_state, queue_env, stats
from tests.support import RedisServer, WorkerProcess, free_port, sentinel_of, wait_for

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
    """REDIS_SENTINELS: one sentinel that knows the primary."""
    with sentinel_of(primary) as sentinels:
        yield sentinels


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
