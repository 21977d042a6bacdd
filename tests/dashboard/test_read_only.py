"""The dashboard never writes: every command it sends during a session of every page (HTML,
JSON, fragments, several times) is one Redis itself flags as not a write.

Recorded two ways on a redis-server of the test's own, with no worker running: MONITOR
(the commands of the dashboard's own connections, found by their client name) and INFO
commandstats (every command the server ran, scripts included: MONITOR does not show EVAL).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from tests.dashboard.seed import seed_fleet
from tests.dashboard.support import DashboardProcess
from tests.support import RedisServer, wait_for

CLIENT_NAME = "crypto-stats-dashboard"
SESSION = (
    "/",
    "/tasks",
    "/tasks/price-sync",
    "/tasks/report",
    "/tasks/no-such-task",
    "/targets",
    "/queues",
    "/alerts",
)
API = (
    "/api/fleet",
    "/api/tasks",
    "/api/tasks/price-sync",
    "/api/tasks/no-such-task",
    "/api/targets",
    "/api/queues",
    "/api/alerts",
    "/healthz",
)
STOP = "dashboard-session-over"
SCRIPTS = {"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro", "script", "function"}


class Monitor:
    """MONITOR in a thread: every command the server receives, with its client's address."""

    def __init__(self, server: RedisServer) -> None:
        self.commands: list[dict[str, Any]] = []
        self._client = server.client()
        self._monitor = self._client.monitor()  # type: ignore[no-untyped-call]
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            command = self._monitor.next_command()
            if STOP in command["command"]:
                return
            self.commands.append(command)

    def close(self, server: RedisServer) -> None:
        server.client().echo(STOP)
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "MONITOR never saw the end of the session"
        self._monitor.__exit__()
        self._client.close()


def name_of(command: dict[str, Any]) -> str:
    """`xrevrange`, or `client|setname` for a container command's subcommand."""
    words = str(command["command"]).split()
    name = words[0].lower()
    if name in ("client", "config", "command", "object", "xinfo") and len(words) > 1:
        return f"{name}|{words[1].lower()}"
    return name


def flags(client: redis.Redis, name: str) -> list[str]:
    info: Any = client.execute_command("COMMAND", "INFO", name)  # type: ignore[no-untyped-call]
    entry = info.get(name)
    assert entry, f"Redis does not know the command {name!r}"
    return [str(flag) for flag in entry["flags"]]


def dashboard_addresses(client: redis.Redis) -> set[str]:
    found: Any = client.client_list()
    return {c["addr"] for c in found if c.get("name") == CLIENT_NAME}


def test_a_dashboard_session_sends_no_write(
    own_redis: RedisServer, tmp_path: Path, spawn_dashboard: Callable[..., DashboardProcess]
) -> None:
    asyncio.run(seed_fleet(own_redis.url, tmp_path))
    admin = own_redis.client()
    dashboard = spawn_dashboard(redis=own_redis.url)
    admin.config_resetstat()
    monitor = Monitor(own_redis)
    try:
        for _ in range(3):
            for path in SESSION:
                for params in ({}, {"fragment": "1"}):
                    assert dashboard.get(path, params=params).status_code in (200, 404), path
            for path in API:
                assert dashboard.get(path).status_code in (200, 404), path
        addresses = wait_for(lambda: dashboard_addresses(admin), what="the dashboard's client")
    finally:
        monitor.close(own_redis)
    stats: Any = admin.info("commandstats")

    mine = [c for c in monitor.commands if f"{c['client_address']}:{c['client_port']}" in addresses]
    names = {name_of(c) for c in mine}
    # The session read what each page shows (so the recording is the dashboard's).
    assert {"xrevrange", "zrange", "mget", "hgetall", "llen", "zcard", "ping"} <= names, names
    writes = {name for name in names if "write" in flags(admin, name)}
    assert not writes, f"the dashboard wrote: {writes}"
    # Commands run inside a script show with the client `lua`; none may run.
    assert not [c for c in monitor.commands if c["client_type"] == "lua"]
    assert not names & SCRIPTS

    # Every command the server ran during the session (no other client wrote anything).
    ran = {key.removeprefix("cmdstat_") for key in stats}
    assert "xrevrange" in ran
    assert not ran & SCRIPTS, ran
    server_writes = {name for name in ran if "write" in flags(admin, name)}
    assert not server_writes, f"written during the session: {server_writes}"
