"""The dashboard over a real worker: every page answers and shows the worker's tasks."""

from __future__ import annotations

from collections.abc import Callable

from tests.dashboard.support import DashboardProcess
from tests.support import WorkerProcess, wait_for


def test_pages_show_a_running_worker(
    spawn_worker: Callable[..., WorkerProcess],
    spawn_dashboard: Callable[..., DashboardProcess],
) -> None:
    worker = spawn_worker(HEARTBEAT_INTERVAL="1", SCHEDULE_HEALTH_CHECK="* * * * * *")
    worker.wait_for_log("ready")
    dashboard = spawn_dashboard()

    def ran() -> bool:
        reply = dashboard.get("/api/tasks/health-check")
        return reply.status_code == 200 and bool(reply.json()["runs"])

    wait_for(ran, timeout=15, what="a health-check run on the dashboard")
    for path in ("/", "/tasks", "/tasks/health-check", "/targets", "/queues", "/alerts"):
        reply = dashboard.get(path)
        assert reply.status_code == 200, (path, reply.text)
        assert "text/html" in reply.headers["content-type"]
    tasks = dashboard.get("/tasks").text
    assert "crypto-trigger" in tasks
    assert "health-check" in tasks
    rows = {row["name"]: row for row in dashboard.get("/api/tasks").json()["tasks"]}
    # What the replica runs comes from its instance record's catalogue.
    assert rows["crypto-trigger"]["schedule"] == "*/15 * * * *"
    assert rows["crypto-trigger"]["scope"] == "cluster"
    assert rows["health-check"]["scope"] == "instance"
    assert rows["coin-sync"]["next_fire"] is not None
    fleet = dashboard.get("/api/fleet").json()["replicas"]
    assert len(fleet) == 1
    assert fleet[0]["pid"] == worker.process.pid
    assert fleet[0]["version"]


def test_a_processor_only_replica_lists_its_queue_and_no_scheduled_task(
    spawn_worker: Callable[..., WorkerProcess],
    spawn_dashboard: Callable[..., DashboardProcess],
) -> None:
    worker = spawn_worker(HEARTBEAT_INTERVAL="1", WORKER_ROLES="processor")
    worker.wait_for_log("ready")
    dashboard = spawn_dashboard()

    def listed() -> list[str]:
        return [row["name"] for row in dashboard.get("/api/tasks").json()["tasks"]]

    assert wait_for(listed, timeout=10, what="the replica's catalogue") == ["queue:coin-sync"]
