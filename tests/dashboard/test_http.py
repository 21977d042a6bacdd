"""Every route over HTTP against a fleet state the framework's own writers produced
(`seed.seed_fleet`): what each JSON says, the pages and their fragments, 404s, /healthz."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.dashboard.seed import QUEUE, A, B, Seeded, seed_fleet
from tests.dashboard.support import DashboardProcess
from tests.support import RedisServer

PAGES = ("/", "/tasks", "/tasks/price-sync", "/targets", "/queues", "/alerts")


@pytest.fixture(scope="module")
def seeded(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[DashboardProcess, Seeded]]:
    """One seeded fleet and one dashboard for the whole module (it only reads)."""
    redis_server.client().flushall()
    tmp = tmp_path_factory.mktemp("dashboard-http")
    state = asyncio.run(seed_fleet(redis_server.url, tmp))
    dashboard = DashboardProcess(redis_server.url, tmp)
    try:
        dashboard.wait_listening()
        yield dashboard, state
    finally:
        dashboard.close()


@pytest.fixture
def dashboard(seeded: tuple[DashboardProcess, Seeded]) -> DashboardProcess:
    return seeded[0]


@pytest.fixture
def state(seeded: tuple[DashboardProcess, Seeded]) -> Seeded:
    return seeded[1]


def instant(text: str | None) -> datetime:
    assert text, text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def get_json(dashboard: DashboardProcess, path: str) -> Any:
    reply = dashboard.get(path)
    assert reply.status_code == 200, (path, reply.text)
    assert reply.headers["content-type"].startswith("application/json")
    return reply.json()


def test_fleet_lists_both_replicas_with_their_figures(dashboard: DashboardProcess) -> None:
    replicas = get_json(dashboard, "/api/fleet")["replicas"]
    assert [r["id"] for r in replicas] == [A, B]
    first = replicas[0]
    # The heartbeat's own figures (this test process's), not the health check's older ones;
    # without them (a replica of an earlier version), the health check's.
    assert 5 < first["rss_mb"] != 61.5
    assert first["cpu_percent"] >= 0
    assert replicas[1]["rss_mb"] == 61.5
    assert replicas[1]["cpu_percent"] == 3.25
    assert first["roles"] == ["scheduler", "processor"]
    assert first["tasks"] == 2
    assert replicas[1]["tasks"] == 1
    assert isinstance(first["pid"], int)
    assert first["host"]
    assert instant(first["last_seen"]) >= instant(first["started_at"])
    assert set(first["running"]) == {"price-sync"}
    assert replicas[1]["running"] == {}


def test_tasks_rows_merge_catalogue_summary_pause_and_claim(
    dashboard: DashboardProcess, state: Seeded
) -> None:
    rows = {row["name"]: row for row in get_json(dashboard, "/api/tasks")["tasks"]}
    assert list(rows) == ["old-task", "price-sync", f"queue:{QUEUE}", "report"]
    # A queue's jobs are recorded as the task `queue:<name>`: run by the replicas processing it.
    assert rows[f"queue:{QUEUE}"]["scope"] == "queue"
    assert rows[f"queue:{QUEUE}"]["running_here"] is True

    price = rows["price-sync"]
    assert price["schedule"] == "*/30 * * * * *"
    assert price["scope"] == "cluster"
    assert price["timezone"] == "UTC"
    assert price["running_here"] is True
    assert price["paused"] is True
    assert instant(price["paused_until"]).timestamp() == pytest.approx(state.paused_until, abs=0.01)
    # The earliest next fire any live replica plans.
    assert instant(price["next_fire"]) == instant(state.next_fire)
    assert price["next_fire_passed"] is False
    assert price["next_fire_paused"] is True  # paused for an hour, due in 5 minutes
    # The newest deciding run: the recovery after two failures.
    assert price["outcome"] == "ok"
    assert price["recovered"] is True
    assert price["lag_ms"] == 11.0
    assert price["duration_ms"] == 40.0
    assert price["consecutive_failures"] == 0
    assert price["instance"] == A
    assert instant(price["running_since"]) == instant(state.claimed_at)
    assert price["claimed_by"] == A

    report = rows["report"]
    assert (report["schedule"], report["scope"]) == ("0 * * * *", "instance")
    assert report["paused"] is False
    assert report["paused_until"] is None
    assert report["claimed_by"] is None
    assert report["running_since"] is None
    assert report["duration_ms"] == 250.0

    old = rows["old-task"]
    assert old["running_here"] is False
    assert old["schedule"] is None
    assert old["next_fire"] is None
    assert old["outcome"] == "timeout"
    assert old["consecutive_failures"] == 1


def test_one_task_lists_its_runs_newest_first_and_its_lag_series(
    dashboard: DashboardProcess,
) -> None:
    data = get_json(dashboard, "/api/tasks/price-sync")
    assert data["task"]["name"] == "price-sync"
    runs = data["runs"]
    assert [r["outcome"] for r in runs] == ["ok", "failed", "missed", "failed", "ok"]
    starts = [instant(r["started_at"]) for r in runs]
    assert starts == sorted(starts, reverse=True)
    newest, failed, missed, first_failure, _ = runs
    assert newest["recovered"] is True
    assert (newest["duration_ms"], newest["lag_ms"]) == (40.0, 11.0)
    assert failed["error"] == "HTTPError: 503 from the price API"
    assert failed["consecutive_failures"] == 2
    assert failed["instance"] == A
    assert first_failure["instance"] == B
    assert first_failure["error"] == "HTTPError: 502 from the price API"
    assert missed["missed"] == 2
    assert missed["error"] is None
    # Oldest to newest, without the missed fire.
    assert [p["lag_ms"] for p in data["lag"]] == [4.0, 7.0, 9.0, 11.0]
    times = [instant(p["at"]) for p in data["lag"]]
    assert times == sorted(times)

    page = dashboard.get("/tasks/price-sync")
    assert page.status_code == 200
    assert "HTTPError: 503 from the price API" in page.text
    assert '<svg class="chart"' in page.text


def test_a_task_only_a_replica_runs_has_a_page_without_runs(dashboard: DashboardProcess) -> None:
    report = get_json(dashboard, "/api/tasks/report")
    assert report["task"]["schedule"] == "0 * * * *"
    assert [r["outcome"] for r in report["runs"]] == ["ok"]


def test_an_unknown_task_is_404_as_a_page_and_as_json(dashboard: DashboardProcess) -> None:
    page = dashboard.get("/tasks/no-such-task")
    assert page.status_code == 404
    assert "no-such-task" in page.text
    assert "<html" in page.text
    reply = dashboard.get("/api/tasks/no-such-task")
    assert reply.status_code == 404
    assert "no-such-task" in reply.json()["error"]


def test_targets_merge_every_replicas_lane(dashboard: DashboardProcess) -> None:
    targets = {t["name"]: t for t in get_json(dashboard, "/api/targets")["targets"]}
    assert {"lake", "mirror"} <= set(targets)
    lake, mirror = targets["lake"], targets["mirror"]
    # The newest delivery of any replica (B delivered after A).
    assert lake["last_delivered"] == "price-sync:2"
    assert lake["pending"] == []
    assert lake["failing_since"] is None
    assert mirror["last_delivered"] is None
    assert mirror["pending"] == [{"instance": A, "fire": "price-sync:2", "missed": 1}]
    assert mirror["failing_since"] is not None
    assert instant(mirror["failing_since"]) < instant(lake["delivered_at"])


def test_queues_count_jobs_by_state_and_show_the_failure_reason(
    dashboard: DashboardProcess,
) -> None:
    queues = get_json(dashboard, "/api/queues")["queues"]
    assert [q["name"] for q in queues] == [QUEUE]
    queue = queues[0]
    counts = {state: queue[state] for state in ("waiting", "active", "delayed", "completed")}
    assert counts == {"waiting": 1, "active": 0, "delayed": 0, "completed": 0}
    assert queue["failed"] == 1
    [failure] = queue["last_failures"]
    assert failure["id"] == "bad-1"
    assert failure["name"] == "sync-coin"
    assert failure["reason"] == "no price for dogecoin"
    assert failure["attempts"] == 1
    assert instant(failure["failed_at"]) <= datetime.now(UTC)
    assert "no price for dogecoin" in dashboard.get("/queues").text


def test_alerts_newest_first(dashboard: DashboardProcess) -> None:
    alerts = get_json(dashboard, "/api/alerts")["alerts"]
    assert [(a["task"], a["state"]) for a in alerts] == [
        ("price-sync", "recovered"),
        ("price-sync", "failing"),
    ]
    failing = alerts[1]
    assert failing["failures"] == 2
    assert failing["instance"] == A
    assert failing["error"] == "HTTPError: 503 from the price API"
    assert "failed 2 times in a row" in failing["text"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_whole_documents_and_fragments_are_content_only(
    dashboard: DashboardProcess, path: str
) -> None:
    page = dashboard.get(path)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text
    assert page.headers["cache-control"] == "no-store"
    fragment = dashboard.get(path, params={"fragment": "1"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text.lower()
    assert "<head" not in fragment.text.lower()
    assert 'id="read-at"' in fragment.text


def test_pages_show_the_seeded_names(dashboard: DashboardProcess) -> None:
    assert A in dashboard.get("/").text
    tasks = dashboard.get("/tasks").text
    assert all(name in tasks for name in ("price-sync", "report", "old-task"))
    assert "mirror" in dashboard.get("/targets").text
    assert "HTTPError: 503 from the price API" in dashboard.get("/alerts").text


def test_healthz_and_static(dashboard: DashboardProcess) -> None:
    health = dashboard.get("/healthz")
    assert (health.status_code, health.text) == (200, "ok\n")
    css = dashboard.get("/static/dashboard.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert dashboard.get("/static/nothing.css").status_code == 404


def test_keep_alive_responses_are_not_held_back(dashboard: DashboardProcess) -> None:
    """A connection reused for many requests answers each at once (with Nagle left on, every
    response waited for the client's delayed ACK: 40 ms)."""
    with httpx.Client(base_url=dashboard.url, timeout=10.0) as client:
        client.get("/healthz")
        times = []
        for _ in range(15):
            started = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            times.append(time.perf_counter() - started)
    assert statistics.median(times) < 0.025, times


def test_a_name_from_the_url_is_escaped_on_the_page(dashboard: DashboardProcess) -> None:
    page = dashboard.get("/tasks/<script>alert(1)</script>")
    assert page.status_code == 404
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    reply = dashboard.get("/api/tasks/<script>alert(1)</script>")
    assert reply.status_code == 404
    assert reply.headers["content-type"].startswith("application/json")
