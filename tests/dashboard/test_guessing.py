"""The dashboard resists guessing its token: an open bind needs a long one (or
DASHBOARD_ALLOW_OPEN=on), and an address that keeps failing is refused with 429 for a while,
Bearer headers, login posts and session cookies alike, counted in the process, per socket peer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import redis

from tests.dashboard.support import DashboardProcess, one_line, start

TOKEN = "guess-me-if-you-can-0123456789"
SHORT = "sh0rt-Secret-15"
"""15 characters: one too few for an open bind."""


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--addr", "0.0.0.0:8080"), {"DASHBOARD_TOKEN": "a"}),
        (("--addr", "0.0.0.0:8080"), {"DASHBOARD_TOKEN": SHORT}),
        (("--addr", "0.0.0.0:8080"), {}),
        (("--addr", "0.0.0.0:8080"), {"DASHBOARD_TOKEN": ""}),
        ((), {"DASHBOARD_ADDR": "0.0.0.0:8080", "DASHBOARD_TOKEN": "a"}),  # as the image sets it
        (("--addr", "[::]:8080"), {"DASHBOARD_TOKEN": SHORT}),
        (("--addr", "192.0.2.10:8080"), {"DASHBOARD_TOKEN": SHORT}),
        (("--addr", "0.0.0.0:8080"), {"DASHBOARD_TOKEN": SHORT, "DASHBOARD_ALLOW_OPEN": "off"}),
    ],
)
def test_an_open_bind_without_a_long_token_is_one_line_and_exit_78(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str]
) -> None:
    result = start(tmp_path, *args, **env)
    assert result.returncode == 78
    line = one_line(result)
    assert line.startswith("worker-dashboard: DASHBOARD_TOKEN: "), line
    assert "16 characters" in line
    assert "DASHBOARD_ALLOW_OPEN=on" in line
    assert SHORT not in line


def test_a_bad_allow_open_is_one_line_and_exit_78(tmp_path: Path) -> None:
    result = start(tmp_path, DASHBOARD_ALLOW_OPEN="maybe")
    assert result.returncode == 78
    assert one_line(result) == "worker-dashboard: DASHBOARD_ALLOW_OPEN: 'maybe' is not on or off"


@pytest.mark.parametrize("token", ["", "a"])
def test_allow_open_lets_an_open_bind_start_with_a_warning(
    spawn_dashboard: Callable[..., DashboardProcess], token: str
) -> None:
    dashboard = spawn_dashboard(host="0.0.0.0", DASHBOARD_TOKEN=token, DASHBOARD_ALLOW_OPEN="on")
    warnings = [line for line in dashboard.output.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, dashboard.output
    assert "DASHBOARD_ALLOW_OPEN=on" in warnings[0]
    assert "is not loopback" in warnings[0]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    assert dashboard.get("/api/fleet", headers=headers).status_code == 200

    # Sixteen characters need no DASHBOARD_ALLOW_OPEN, and get no warning.
    long_enough = spawn_dashboard(host="0.0.0.0", DASHBOARD_TOKEN="x" * 16)
    assert "WARNING" not in long_enough.output
    assert long_enough.get("/api/fleet").status_code == 401


@pytest.fixture
def gated(spawn_dashboard: Callable[..., DashboardProcess]) -> DashboardProcess:
    return spawn_dashboard(DASHBOARD_TOKEN=TOKEN)


def from_address(dashboard: DashboardProcess, address: str) -> httpx.Client:
    """A client whose connections come from `address` (any of 127.0.0.0/8 reaches lo)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=dashboard.url, transport=transport, timeout=10.0)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_two_hundred_wrong_bearer_guesses_are_throttled(
    gated: DashboardProcess, redis_url: str
) -> None:
    replies = [gated.get("/api/fleet", headers=bearer(f"guess-{n:03}")) for n in range(200)]
    statuses = Counter(reply.status_code for reply in replies)
    assert statuses == {401: 10, 429: 190}
    assert [reply.status_code for reply in replies[:10]] == [401] * 10
    refused = replies[-1]
    assert 55 <= int(refused.headers["retry-after"]) <= 60
    assert "too many failed authentications" in refused.json()["error"]

    # The right token is refused too, from this address; another address is let in.
    assert gated.get("/api/fleet", headers=bearer(TOKEN)).status_code == 429
    with from_address(gated, "127.0.0.2") as other:
        assert other.get("/api/fleet", headers=bearer(TOKEN)).status_code == 200
    # What needs no token still answers (a container's health check).
    assert gated.get("/healthz").status_code == 200
    assert gated.get("/static/dashboard.css").status_code == 200

    throttled = [line for line in gated.output.splitlines() if "auth throttled" in line]
    assert len(throttled) == 1, gated.output
    assert "client=127.0.0.1" in throttled[0]
    assert "failures=10" in throttled[0]
    assert "guess-" not in gated.output
    assert TOKEN not in gated.output
    with redis.Redis.from_url(redis_url) as client:
        assert client.dbsize() == 0, "the throttle lives in the dashboard, not in Redis"


def test_login_posts_bearer_guesses_and_forged_cookies_count_together(
    gated: DashboardProcess,
) -> None:
    with from_address(gated, "127.0.0.3") as browser:
        for n in range(4):
            assert browser.get("/api/fleet", headers=bearer(f"guess-{n}")).status_code == 401
        for n in range(5):
            wrong = browser.post("/login", data={"token": f"guess-{n}", "next": "/"})
            assert wrong.status_code == 401
        forged = browser.get("/tasks", headers={"Cookie": "worker_dashboard=9999999999.f00"})
        assert forged.status_code == 303
        assert 'worker_dashboard=""' in forged.headers["set-cookie"], "deleted: sent once"

        right = browser.post("/login", data={"token": TOKEN, "next": "/tasks"})
        assert right.status_code == 429
        assert "set-cookie" not in right.headers, "no session for a refused address"
        assert "Too many failed sign-ins from this address" in right.text
        assert 55 <= int(right.headers["retry-after"]) <= 60
        page = browser.get("/login")
        assert page.status_code == 429
        assert "<form" in page.text
        assert browser.get("/tasks").status_code == 429
    with from_address(gated, "127.0.0.4") as other:
        assert other.post("/login", data={"token": TOKEN, "next": "/"}).status_code == 303


def test_requests_without_credentials_or_with_an_expired_session_are_not_guesses(
    gated: DashboardProcess,
) -> None:
    expired = {"Cookie": "worker_dashboard=1000.f00"}
    for _ in range(15):
        assert gated.get("/api/fleet").status_code == 401
        assert gated.get("/tasks").status_code == 303
        assert gated.get("/api/fleet", headers=expired).status_code == 401
        assert gated.get("/login").status_code == 200
    for n in range(10):
        assert gated.get("/api/fleet", headers=bearer(f"guess-{n}")).status_code == 401
    assert gated.get("/api/fleet", headers=bearer(TOKEN)).status_code == 429


def test_a_forwarded_address_is_not_trusted(gated: DashboardProcess) -> None:
    """The peer is 127.0.0.1, which uvicorn trusts for X-Forwarded-For by default."""
    statuses = Counter(
        gated.get(
            "/api/fleet",
            headers={
                **bearer("guess"),
                "X-Forwarded-For": f"203.0.113.{n}",
                "X-Real-IP": f"203.0.113.{n}",
                "Forwarded": f"for=203.0.113.{n}",
            },
        ).status_code
        for n in range(30)
    )
    assert statuses == {401: 10, 429: 20}
