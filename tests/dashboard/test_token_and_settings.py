"""DASHBOARD_TOKEN over HTTP (bearer for /api, the login form and its cookie for pages, no open
redirect, the token in no response and no log line), and the settings that stop the
dashboard at start: one line naming the setting, exit 78, no traceback."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.dashboard.support import DashboardProcess, one_line, start
from tests.support import RedisServer
from worker import ConfigError, WorkerSettings, load_settings

TOKEN = "t0ken-for-the-dashboard-tests"
PAGES = ("/", "/tasks", "/tasks/health-check", "/targets", "/queues", "/alerts")
API = ("/api/fleet", "/api/tasks", "/api/tasks/health-check", "/api/targets", "/api/queues")


def expected(path: str) -> int:
    """Through the gate: 200, or 404 for the task nothing is recorded of (Redis is empty)."""
    return 404 if path.endswith("/health-check") else 200


def test_the_token_gates_every_page_and_json_route(
    spawn_dashboard: Callable[..., DashboardProcess],
) -> None:
    dashboard = spawn_dashboard(DASHBOARD_TOKEN=TOKEN)
    seen: list[httpx.Response] = []

    def get(path: str, **options: object) -> httpx.Response:
        reply = dashboard.get(path, **options)
        seen.append(reply)
        return reply

    for path in (*API, "/api/alerts"):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            reply = get(path, headers=headers)
            assert reply.status_code == 401, (path, headers)
            assert "error" in reply.json()
            assert reply.headers["www-authenticate"] == "Bearer"
        reply = get(path, headers={"Authorization": f"Bearer {TOKEN}"})
        assert reply.status_code == expected(path), path

    for path in PAGES:
        reply = get(path)
        assert reply.status_code == 303, path
        assert reply.headers["location"] == f"/login?next={path}"
    # A bearer opens a page too (scripts that scrape the HTML).
    assert get("/tasks", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200

    form = get("/login", params={"next": "/queues"})
    assert form.status_code == 200
    assert 'value="/queues"' in form.text

    with httpx.Client(base_url=dashboard.url, timeout=10.0) as browser:
        wrong = browser.post("/login", data={"token": "nope", "next": "/queues"})
        seen.append(wrong)
        assert wrong.status_code == 401
        assert "<form" in wrong.text
        assert not browser.cookies
        assert browser.get("/queues").status_code == 303

        right = browser.post("/login", data={"token": TOKEN, "next": "/queues"})
        seen.append(right)
        assert right.status_code == 303
        assert right.headers["location"] == "/queues"
        cookie = right.headers["set-cookie"]
        assert "httponly" in cookie.lower()
        assert "samesite=strict" in cookie.lower()
        assert TOKEN not in cookie
        for path in (*PAGES, "/api/tasks"):
            reply = browser.get(path)
            seen.append(reply)
            assert reply.status_code == expected(path), path

        out = browser.get("/logout")
        assert out.status_code == 303
        assert out.headers["location"] == "/login"
        assert browser.get("/tasks").status_code == 303

    # The token opens no other way: not as the cookie, not as a query parameter.
    assert get("/tasks", headers={"Cookie": f"worker_dashboard={TOKEN}"}).status_code == 303
    assert get("/api/tasks", params={"token": TOKEN}).status_code == 401

    for response in seen:
        assert TOKEN not in response.text
        assert TOKEN not in str(response.headers)
    assert TOKEN not in dashboard.output


def test_a_session_ends_at_its_expiry_and_a_huge_login_body_is_refused_unread(
    spawn_dashboard: Callable[..., DashboardProcess],
) -> None:
    dashboard = spawn_dashboard(DASHBOARD_TOKEN=TOKEN)

    def session(expires: int) -> str:
        mac = hmac.new(TOKEN.encode(), f"session:{expires}".encode(), hashlib.sha256)
        return f"worker_dashboard={expires}.{mac.hexdigest()}"

    now = int(time.time())
    assert dashboard.get("/api/fleet", headers={"Cookie": session(now + 60)}).status_code == 200
    assert dashboard.get("/api/fleet", headers={"Cookie": session(now - 1)}).status_code == 401
    forged = session(now + 60).replace("=", "=9", 1)  # another expiry, the old signature
    assert dashboard.get("/api/fleet", headers={"Cookie": forged}).status_code == 401
    # Expiries `int` refuses though `isdigit` takes them: a refusal, not a 500.
    for cookie in (b"worker_dashboard=\xb2.x", b"worker_dashboard=" + b"9" * 5000 + b".x"):
        reply = dashboard.get("/api/fleet", headers={b"Cookie": cookie})
        assert reply.status_code == 401, cookie[:40]
    assert "Traceback" not in dashboard.output

    big = httpx.post(f"{dashboard.url}/login", content=b"token=" + b"x" * 100_000, timeout=10.0)
    assert big.status_code == 413
    assert dashboard.process.poll() is None


def test_login_never_redirects_off_the_site(
    spawn_dashboard: Callable[..., DashboardProcess],
) -> None:
    dashboard = spawn_dashboard(DASHBOARD_TOKEN=TOKEN)
    for target in (
        "//evil.example",
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
    ):
        form = dashboard.get("/login", params={"next": target})
        assert "evil.example" not in form.text, target
        reply = httpx.post(
            f"{dashboard.url}/login", data={"token": TOKEN, "next": target}, timeout=10.0
        )
        assert reply.status_code == 303, target
        assert reply.headers["location"] == "/", target
    # A path on the site is followed.
    reply = httpx.post(
        f"{dashboard.url}/login", data={"token": TOKEN, "next": "/alerts"}, timeout=10.0
    )
    assert reply.headers["location"] == "/alerts"


def test_healthz_and_static_files_need_no_token(
    spawn_dashboard: Callable[..., DashboardProcess],
) -> None:
    dashboard = spawn_dashboard(DASHBOARD_TOKEN=TOKEN)
    assert dashboard.get("/healthz").status_code == 200
    assert dashboard.get("/static/dashboard.css").status_code == 200
    assert dashboard.get("/static/dashboard.js").status_code == 200
    assert dashboard.get("/login").status_code == 200
    assert dashboard.get("/api/fleet").status_code == 401


@pytest.mark.parametrize(
    ("args", "env", "setting"),
    [
        ((), {"DASHBOARD_ADDR": "nonsense"}, "DASHBOARD_ADDR"),
        (("--addr", "127.0.0.1:99999"), {}, "DASHBOARD_ADDR"),
        (("--addr", "127.0.0.1:\u00b2"), {}, "DASHBOARD_ADDR"),  # a digit `int` refuses
        (("--addr", "no-such-host.invalid:8080"), {"DASHBOARD_TOKEN": TOKEN}, "DASHBOARD_ADDR"),
        ((), {"DASHBOARD_TOKEN": "   "}, "DASHBOARD_TOKEN"),
    ],
)
def test_a_bad_dashboard_setting_is_one_line_and_exit_78(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], setting: str
) -> None:
    result = start(tmp_path, *args, **env)
    assert result.returncode == 78
    line = one_line(result)
    assert line.startswith(f"worker-dashboard: {setting}: "), line


def test_an_empty_token_is_no_token_and_the_start_line_says_so(
    spawn_dashboard: Callable[..., DashboardProcess],
) -> None:
    dashboard = spawn_dashboard(DASHBOARD_TOKEN="")
    assert dashboard.get("/api/fleet").status_code == 200
    assert "no token (DASHBOARD_TOKEN unset or empty)" in dashboard.output


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:6379/0", "redis://:s3cretpw@127.0.0.1:notaport/0"]
)
def test_a_bad_redis_url_is_the_workers_config_error(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith(("REDIS_", "WORKER_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("REDIS_URL", url)
    with pytest.raises(ConfigError) as expected:
        load_settings(WorkerSettings, env_file=None)
    result = start(tmp_path, REDIS_URL=url)
    assert result.returncode == 78
    assert one_line(result) == f"worker-dashboard: {expected.value}"
    assert "s3cretpw" not in result.stderr


def test_a_taken_port_is_one_line(tmp_path: Path, redis_server: RedisServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = start(tmp_path, "--addr", f"127.0.0.1:{port}", REDIS_URL=redis_server.url)
    assert result.returncode != 0
    line = one_line(result)
    assert line.startswith("worker-dashboard: DASHBOARD_ADDR: cannot listen on"), line
    assert str(port) in line


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_it_with_exit_0(
    spawn_dashboard: Callable[..., DashboardProcess], sig: signal.Signals
) -> None:
    dashboard = spawn_dashboard()
    dashboard.process.send_signal(sig)
    assert dashboard.process.wait(timeout=10) == 0
    assert "Traceback" not in dashboard.output
