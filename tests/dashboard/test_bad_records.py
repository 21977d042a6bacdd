"""Values no replica of this version writes (a foreign or older writer, a hand edit) show as
missing or as text: no page or JSON route answers 500 over them, and JSON holds no NaN."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import redis

from tests.dashboard.support import DashboardProcess
from tests.support import RedisServer
from worker.state.keys import Keys

KEYS = Keys()
PAGES = ("/", "/tasks", "/tasks/odd", "/tasks/nan-runs", "/targets", "/queues", "/alerts")


def seed(client: redis.Redis) -> None:
    now_ms = int(time.time() * 1000)
    odd = {
        "id": "odd",
        "heartbeat_at": "2026-01-01T00:00:00",  # no offset
        "started_at": "2026-01-01T00:00:00",
        "process": {"rss_mb": "12", "cpu_percent": "NaN"},
        "running": ["not", "an", "object"],
        "roles": "scheduler",
        "tasks": {"odd": {"schedule": "* * * * *", "scope": "cluster"}},
        "next_fires": {"odd": "2030-01-01T00:00:00", "other": "0001-01-01T00:00:00+01:00"},
        "targets": ["lake"],
        "queues": ["jobs"],
        "queue_prefix": "bull",
    }
    client.set(KEYS.instance("odd"), json.dumps(odd), ex=60)
    client.zadd(KEYS.instances, {"odd": now_ms})
    client.hset(KEYS.task_summaries, "odd", '{"outcome": "ok", "lag_ms": NaN, "duration_ms": "x"}')
    client.hset(KEYS.paused, "odd", '{"until": 1e300, "at": 1}')
    client.xadd(
        KEYS.task_runs("nan-runs"),
        {
            "task": "nan-runs",
            "started_at": "2026-01-01T00:00:00Z",
            "lag_ms": "nan",
            "missed": "inf",
        },
    )
    client.hset(
        KEYS.target("lake"),
        mapping={
            "odd": json.dumps({"instance": "odd", "delivered_at": "yesterday", "pending": 5}),
            "gone": "not json",
            "old": json.dumps({"instance": "old", "last_delivered": "f:1", "delivered_at": 1e300}),
        },
    )
    client.xadd(KEYS.alerts, {"task": "odd", "state": "failing", "data": "[1, 2]"})
    client.zadd("bull:jobs:failed", {"7": now_ms})
    client.hset(
        "bull:jobs:7",
        mapping={
            "name": "j",
            "failedReason": "x" * 50_000,
            "finishedOn": "\u00b2",
            "atm": "9" * 30,
        },
    )


def test_odd_values_never_make_a_500_and_json_holds_no_nan(
    spawn_dashboard: Callable[..., DashboardProcess], redis_server: RedisServer
) -> None:
    client = redis_server.client()
    client.flushall()
    seed(client)
    dashboard = spawn_dashboard()
    for path in PAGES:
        for params in ({}, {"fragment": "1"}):
            reply = dashboard.get(path, params=params)
            assert reply.status_code == 200, (path, reply.status_code, reply.text[-300:])
    found: dict[str, Any] = {}
    for path in PAGES:
        reply = dashboard.get(f"/api{path}" if path != "/" else "/api/fleet")
        assert reply.status_code == 200, (path, reply.text[-300:])
        assert "NaN" not in reply.text, path
        assert "Infinity" not in reply.text, path
        found[path] = reply.json()
    [replica] = found["/"]["replicas"]
    assert replica["rss_mb"] == 12.0
    assert replica["cpu_percent"] is None
    assert replica["running"] == {}
    [row] = [r for r in found["/tasks"]["tasks"] if r["name"] == "odd"]
    assert row["lag_ms"] is None
    assert row["duration_ms"] is None
    assert row["next_fire"] == "2030-01-01T00:00:00Z"  # read as UTC
    assert row["paused"] is True
    assert row["paused_until"] is None
    [run] = found["/tasks/nan-runs"]["runs"]
    assert run["lag_ms"] is None
    assert run["missed"] == 0
    [lake] = [t for t in found["/targets"]["targets"] if t["name"] == "lake"]
    assert lake["last_delivered"] == "f:1"
    assert lake["delivered_at"] is None
    assert lake["pending"] == []
    [alert] = found["/alerts"]["alerts"]
    assert alert["state"] == "failing"
    [failure] = found["/queues"]["queues"][0]["last_failures"]
    assert failure["failed_at"] is None
    assert failure["attempts"] is None
    assert len(failure["reason"]) < 2100
    assert "Traceback" not in dashboard.output
