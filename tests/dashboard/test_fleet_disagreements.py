"""The dashboard shows what the replicas disagree about: a clock off Redis's (with its offset),
a WORKER_INSTANCE_ID written by two processes, a task two live replicas define differently;
and a record of an older version, which has none of these fields, shows as unknown."""

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
SLOW = {"scope": "cluster", "timezone": "UTC", "time_limit": None, "disabled": False}


def _put(client: redis.Redis, record: dict[str, Any]) -> None:
    client.set(KEYS.instance(record["id"]), json.dumps(record), ex=60)
    client.zadd(KEYS.instances, {record["id"]: int(time.time() * 1000)})


def test_clock_offset_duplicated_id_and_differing_definitions_are_shown(
    spawn_dashboard: Callable[..., DashboardProcess], redis_server: RedisServer
) -> None:
    client = redis_server.client()
    client.flushall()
    _put(
        client,
        {
            "id": "ahead",
            "clock_offset_ms": 3012.5,
            "clock": "ahead",
            "duplicated_with": {"host": "elsewhere", "pid": 4242, "started_at": None},
            "tasks": {"slow": {**SLOW, "schedule": "*/2 * * * * *", "recover": True}},
        },
    )
    _put(client, {"id": "older", "tasks": {"slow": {**SLOW, "schedule": "*/3 * * * * *"}}})
    dashboard = spawn_dashboard()
    replicas = {r["id"]: r for r in dashboard.get("/api/fleet").json()["replicas"]}
    assert replicas["ahead"]["clock_offset_ms"] == 3012.5
    assert replicas["ahead"]["clock"] == "ahead"
    assert replicas["ahead"]["duplicated"] is True
    assert replicas["older"]["clock_offset_ms"] is None
    assert replicas["older"]["duplicated"] is False
    page = dashboard.get("/").text
    assert "+3.013 s" in page
    assert "ahead by more than CLAIM_SKEW" in page
    assert "duplicated id: also written by pid 4242 on elsewhere" in page

    [row] = dashboard.get("/api/tasks").json()["tasks"]
    assert row["definition_conflict"]["fields"] == ["schedule"]
    for path in ("/tasks", "/tasks/slow"):
        text = dashboard.get(path).text
        assert "defined differently by live replicas (schedule:" in text, path
        assert "*/2 * * * * * on ahead; */3 * * * * * on older" in text, path
