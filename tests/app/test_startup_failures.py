"""A service or resource that fails at start-up: one line naming it, exit 78, Redis closed;
as a real `python -m worker` process and in-process. Each docstring says what used to happen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.app.support import context_of
from tests.support import RedisServer, WorkerProcess, wait_for
from worker.app.deadline import Deadline
from worker.app.parts import Parts
from worker.errors import ConfigError

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


def test_a_resource_whose_start_fails_exits_78_naming_it(spawn_worker: Spawn) -> None:
    """Before, `init_resources()` ran outside any handler: a 'worker crashed' traceback and
    exit 1, with the resources already started left open."""
    worker = spawn_worker("--app", "tests.apps.broken:Container", BROKEN_RESOURCE="1")
    assert worker.wait(timeout=30) == 78
    lines = worker.stderr.splitlines()
    assert len(lines) == 1, worker.stderr
    assert "resource 'api_client'" in lines[0]
    assert "RuntimeError: handshake refused" in lines[0]


def named_clients(server: RedisServer) -> list[dict[str, Any]]:
    return [c for c in server.client().client_list() if c.get("name") == CLIENT_NAME]


async def test_a_service_that_cannot_be_built_is_a_config_error_and_redis_is_closed(
    app_env: str, redis_server: RedisServer
) -> None:
    """The old start-up let the constructor's exception escape with a traceback and left the
    Redis resource open."""
    from tests.apps.broken import Container as BrokenContainer

    container = BrokenContainer()
    discovery = context_of(container).discovery
    with pytest.raises(ConfigError, match="'unbuildable'") as raised:
        await Parts.start(container, discovery, Deadline(5.0))
    assert "RuntimeError: missing API key" in str(raised.value)
    assert raised.value.__cause__ is None
    assert named_clients(redis_server) == []
