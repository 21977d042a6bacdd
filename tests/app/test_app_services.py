"""An application's own long-running services (`app_services`) in a real worker process."""

from __future__ import annotations

from collections.abc import Callable

from tests.support import RedisServer, WorkerProcess, wait_for

Spawn = Callable[..., WorkerProcess]
SERVICES = ("--app", "tests.apps.services:Container")


def messages(worker: WorkerProcess) -> list[str]:
    return [record["message"] for record in worker.log_records()]


def test_app_services_start_before_ready_and_close_after_the_hooks_in_reverse(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    worker = spawn_worker(*SERVICES, LOG_FORMAT="json")
    worker.wait_for_log('"message": "ready"')
    wait_for(lambda: client.llen("probe:ticker") >= 2, what="the ticker ticking")
    assert worker.stop() == 0
    seen = messages(worker)
    order = [
        "ticker started",  # APP: with the application, before the on_startup hooks
        "startup hook",
        "beacon started",  # READY: just before the ready line
        "ready",
        "shutdown started",
        "beacon stops intake",  # before the runs drain
        "shutdown hook",
        "beacon closed",  # closed in reverse, before the framework's own services
        "ticker closed",
        "shutdown complete",
    ]
    assert [m for m in seen if m in order] == order
    closed = next(r for r in worker.log_records() if r["message"] == "ticker closed")
    assert closed["heartbeat"] is True, "the heartbeat closes after the application's services"


def test_run_task_starts_app_stage_services_only(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    worker = spawn_worker(*SERVICES, "run-task", "crypto-trigger", LOG_FORMAT="json")
    assert worker.wait() == 0
    seen = messages(worker)
    assert seen.index("ticker started") < seen.index("startup hook")
    assert seen.index("shutdown hook") < seen.index("ticker closed")
    assert "beacon started" not in seen, "READY services start only in `run`"
    assert "beacon closed" in seen, "every service is closed, started or not"
