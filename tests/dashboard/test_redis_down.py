"""Redis down: every page says so (503, one banner, no traceback, no password), every JSON
route answers 503 with an `error`, and the dashboard recovers by itself when Redis is back;
it also starts while Redis is down."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.dashboard.support import DashboardProcess
from tests.support import RedisServer, wait_for

PASSWORD = "s3cretpw"
PAGES = ("/", "/tasks", "/tasks/price-sync", "/targets", "/queues", "/alerts")
API = ("/api/fleet", "/api/tasks", "/api/tasks/price-sync", "/api/targets", "/api/queues")


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A redis-server of the test's own that needs a password (not started yet)."""
    server = RedisServer(password=PASSWORD)
    assert PASSWORD in server.url
    yield server
    server.stop()


Spawn = Callable[..., DashboardProcess]


def assert_down(dashboard: DashboardProcess) -> None:
    for path in PAGES:
        for params in ({}, {"fragment": "1"}):
            reply = dashboard.get(path, params=params)
            assert reply.status_code == 503, (path, reply.status_code)
            assert 'id="redis-down"' in reply.text, path
            assert "Redis unreachable" in reply.text
            assert "Traceback" not in reply.text
            assert PASSWORD not in reply.text
    for path in API:
        reply = dashboard.get(path)
        assert reply.status_code == 503, path
        error = reply.json()["error"]
        assert "Redis unreachable" in error
        assert PASSWORD not in error
    health = dashboard.get("/healthz")
    assert health.status_code == 503
    assert PASSWORD not in health.text


def recovers(dashboard: DashboardProcess) -> None:
    """Every page and JSON route answers 200 again within a few seconds, unprompted."""

    def up() -> bool:
        return all(dashboard.get(path).status_code == 200 for path in ("/", "/api/tasks"))

    wait_for(up, timeout=10, interval=0.1, what="the dashboard to read Redis again")
    for path in (*PAGES[:2], *PAGES[3:], *API[:2], "/healthz"):
        reply = dashboard.get(path)
        assert reply.status_code == 200, path
        assert 'id="redis-down"' not in reply.text


def assert_quiet(dashboard: DashboardProcess) -> None:
    assert PASSWORD not in dashboard.output
    assert "Traceback" not in dashboard.output


def test_pages_say_redis_is_down_and_recover_when_it_is_back(
    server: RedisServer, spawn_dashboard: Spawn
) -> None:
    server.start()
    process = spawn_dashboard(redis=server.url)
    assert process.get("/").status_code == 200
    server.kill()
    assert_down(process)
    server.start()
    recovers(process)
    assert_quiet(process)


def test_the_dashboard_starts_while_redis_is_down(
    server: RedisServer, spawn_dashboard: Spawn
) -> None:
    process = spawn_dashboard(redis=server.url)
    assert_down(process)
    server.start()
    recovers(process)
    assert_quiet(process)


def test_a_hung_redis_shows_as_down_within_the_read_timeout(
    server: RedisServer, spawn_dashboard: Spawn
) -> None:
    server.start()
    process = spawn_dashboard(redis=server.url)
    assert process.get("/tasks").status_code == 200
    server.freeze()
    try:
        started = time.monotonic()
        reply = process.get("/tasks")
        assert reply.status_code == 503
        assert 'id="redis-down"' in reply.text
        assert time.monotonic() - started < 5.0
        assert PASSWORD not in reply.text
    finally:
        server.thaw()
    recovers(process)
    assert_quiet(process)


def test_a_wrong_password_is_a_refusal_not_an_outage(
    server: RedisServer, spawn_dashboard: Spawn
) -> None:
    server.start()
    wrong = "n0tthepw"
    process = spawn_dashboard(redis=server.url.replace(PASSWORD, wrong))
    reply = process.get("/tasks")
    assert reply.status_code == 503
    assert "refused the read" in reply.text
    assert "Redis unreachable" not in reply.text
    error = process.get("/api/fleet").json()["error"]
    assert "refused the read" in error
    assert "Authentication" in error
    health = process.get("/healthz")
    assert health.status_code == 503
    assert health.text == "redis refused the login\n"
    for text in (reply.text, error, process.output):
        assert wrong not in text
        assert PASSWORD not in text
    assert "Traceback" not in process.output
