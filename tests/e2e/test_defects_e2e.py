"""Defects that need a real `python -m worker` process; each docstring says what used to happen."""

from __future__ import annotations

from collections.abc import Callable

from tests.support import RedisServer, WorkerProcess, wait_for

Spawn = Callable[..., WorkerProcess]
CLIENT_NAME = "crypto-stats-worker"


def test_a_service_whose_constructor_raises_exits_78_with_one_line_and_redis_closed(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    """Before, the constructor's exception went up through start-up untouched: exit 1, a
    traceback on stderr, and the Redis resource was never shut down."""
    client = redis_server.client()
    connections_before = int(client.info("stats")["total_connections_received"])
    worker = spawn_worker("--app", "tests.apps.broken:Container")
    assert worker.wait(timeout=30) == 78
    lines = worker.stderr.splitlines()
    assert len(lines) == 1, worker.stderr
    assert "'unbuildable'" in lines[0]
    assert "RuntimeError: missing API key" in lines[0]
    assert "Traceback" not in worker.stderr
    assert worker.stdout == ""
    # The worker did reach Redis (its role check) before the service failed ...
    assert int(client.info("stats")["total_connections_received"]) > connections_before
    # ... and no connection of its own is left behind.
    wait_for(
        lambda: not [c for c in client.client_list() if c.get("name") == CLIENT_NAME],
        timeout=5,
        what="the worker's redis connection to close",
    )
