"""Redis Sentinel: a real primary, replica and three sentinels; the primary is killed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.cluster.support import (
    EVERY_SECOND,
    assert_each_second_once,
    assert_no_second_twice,
    entries,
    journal,
    start_fleet,
)
from tests.support import RedisServer, WorkerProcess, free_port, wait_for

Spawn = Callable[..., WorkerProcess]
DOWN_AFTER_MS = 1000


class Sentinels:
    """Three `redis-server --sentinel` watching `master` (quorum 2, down after 1 s)."""

    def __init__(self, primary: RedisServer) -> None:
        self.ports = [free_port() for _ in range(3)]
        self._dir = tempfile.mkdtemp(prefix="sentinel-test-")
        self._processes: list[subprocess.Popen[bytes]] = []
        self._primary = primary

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        for port in self.ports:
            conf = Path(self._dir) / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self._dir}\n"
                f"sentinel monitor mymaster 127.0.0.1 {self._primary.port} 2\n"
                f"sentinel down-after-milliseconds mymaster {DOWN_AFTER_MS}\n"
                "sentinel failover-timeout mymaster 5000\n"
                "sentinel parallel-syncs mymaster 1\n"
            )
            self._processes.append(
                subprocess.Popen(
                    [binary, str(conf), "--sentinel"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        wait_for(self._ready, timeout=20, what="sentinels that know the replica and each other")

    def _ask(self, port: int, *command: str) -> Any:
        client = redis.Redis(port=port, socket_timeout=2)
        return client.execute_command(*command)  # type: ignore[no-untyped-call]

    def _ready(self) -> bool:
        try:
            return all(
                len(self._ask(p, "SENTINEL", "REPLICAS", "mymaster")) >= 1
                and len(self._ask(p, "SENTINEL", "SENTINELS", "mymaster")) >= 2
                for p in self.ports
            )
        except redis.RedisError:
            return False

    def failover(self) -> None:
        """A planned failover (SENTINEL FAILOVER): the replica is promoted, the old primary
        demoted once the sentinels reconfigure it."""
        self._ask(self.ports[0], "SENTINEL", "FAILOVER", "mymaster")

    def master_port(self) -> int:
        address = self._ask(self.ports[0], "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")
        return int(address[1])

    @property
    def setting(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def stop(self) -> None:
        for process in self._processes:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(self._dir, ignore_errors=True)


@pytest.fixture
def sentinel_setup() -> Iterator[tuple[RedisServer, RedisServer, Sentinels]]:
    primary = RedisServer()
    primary.start()
    replica = RedisServer(replicaof=primary.port)
    replica.start()
    wait_for(lambda: replica.client().info("replication")["master_link_status"] == "up")
    sentinels = Sentinels(primary)
    try:
        sentinels.start()
        yield primary, replica, sentinels
    finally:
        sentinels.stop()
        replica.stop()
        primary.stop()


def sentinel_fleet(
    spawn: Spawn, tmp_path: Path, setup: tuple[RedisServer, RedisServer, Sentinels], **env: str
) -> list[WorkerProcess]:
    """Three replicas on the set-up's primary through its sentinels, ticking every second."""
    primary, _, sentinels = setup
    env = {"REDIS_SENTINELS": sentinels.setting, "FLEET_TICK_CRON": EVERY_SECOND, **env}
    return start_fleet(spawn, tmp_path, 3, first=1, redis_url=primary.url, **env)


@pytest.mark.slow
def test_the_fleet_follows_a_sentinel_failover_and_runs_no_fire_twice(
    spawn_worker: Spawn,
    tmp_path: Path,
    sentinel_setup: tuple[RedisServer, RedisServer, Sentinels],
) -> None:
    primary, replica, sentinels = sentinel_setup
    workers = sentinel_fleet(spawn_worker, tmp_path, sentinel_setup, OUTAGE_LOG_INTERVAL="1")
    wait_for(lambda: len(entries(primary.client(), "tick")) >= 3, what="ticks on the primary")
    primary.kill()
    killed = time.time()
    wait_for(lambda: sentinels.master_port() == replica.port, timeout=15, what="the failover")
    switched = time.time()
    client = replica.client()
    first_after = wait_for(
        lambda: next((t for t in entries(client, "tick") if _second(t) > killed), None),
        timeout=10,
        what="a fire run after the failover",
    )
    resumed = time.time()
    count = len(entries(client, "tick"))
    wait_for(lambda: len(entries(client, "tick")) >= count + 3, what="three more ticks")
    for worker in workers:
        assert worker.stop() == 0
    assert resumed - switched <= 2.0 + 1.0, (
        f"firing resumed {resumed - switched:.2f}s after the sentinels switched"
    )
    assert first_after is not None
    assert_each_second_once(client, entries(client, "tick"))
    before_kill = "".join(w.stderr.split("outage started", 1)[0] for w in workers)
    assert "claim not acknowledged" not in before_kill, "claims were WAITed to the replica"


def _second(tick: list[str]) -> float:
    from tests.cluster.support import second_of

    return float(second_of(tick[0]))


@pytest.mark.slow
def test_a_planned_sentinel_failover_is_followed_at_once_and_sends_no_second_twice(
    spawn_worker: Spawn,
    tmp_path: Path,
    sentinel_setup: tuple[RedisServer, RedisServer, Sentinels],
) -> None:
    """SENTINEL FAILOVER: the old primary takes writes until it is demoted seconds later;
    claims made there after the switch must not run, nor be counted again on the new one."""
    _, replica, sentinels = sentinel_setup
    workers = sentinel_fleet(spawn_worker, tmp_path, sentinel_setup, FLEET_JOURNAL=str(tmp_path))
    wait_for(lambda: len(journal(tmp_path, "tick")) >= 3, what="ticks on the primary")
    sentinels.failover()
    wait_for(lambda: sentinels.master_port() == replica.port, timeout=15, what="the switch")
    switched = time.time()
    client = replica.client()
    wait_for(
        lambda: any(_second(t) > switched for t in entries(client, "tick")),
        timeout=10,
        what="a fire run on the new primary",
    )
    resumed = time.time()
    count = len(journal(tmp_path, "tick"))
    wait_for(lambda: len(journal(tmp_path, "tick")) >= count + 5, what="five more ticks")
    for worker in workers:
        assert worker.stop() == 0
    logs = "\n".join(w.stderr for w in workers)
    assert resumed - switched <= 2.0 + 1.0, f"resumed {resumed - switched:.2f}s after\n{logs}"
    try:
        assert_no_second_twice(journal(tmp_path, "tick"))
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{journal(tmp_path, 'tick')}\n{logs}") from None
