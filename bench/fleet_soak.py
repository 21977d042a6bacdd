"""A fleet soak: 3 replicas, a 1 s cron, faults on a schedule; duplicates, gaps, recovery.

    python -m bench.fleet_soak [--minutes 10]

Topology: a Redis primary, one replica, three sentinels (down-after 3 s); three workers
with REDIS_SENTINELS. Tasks (tests/apps/fleet.py): `fleet-tick` every second, `fleet-slow`
(4 s runs) every 20 s and `fleet-block` (holds its replica's event loop 7 s, a `time.sleep`
in an `async def`) at :15 and :45. Faults, at fractions of the run: 0.15 SIGKILL of the
replica running `fleet-slow` (a new replica replaces it), 0.25 that replica stopped
(SIGSTOP) past its lease mid-run, then resumed, 0.35 SIGKILL of an idle replica (replaced),
0.45 a planned failover (SENTINEL FAILOVER), 0.55 the primary restarted (1 s down, no
failover), 0.75 the primary killed (the sentinels fail over to the replica). Counts come
from the workers' own `run` lines (what Redis forgets in a failover, they keep).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import redis

from bench.procs import Child, clean_env, free_port

ROOT = Path(__file__).resolve().parent.parent
CLAIM = "worker:{claims}:claim:fleet-slow"
RUN = re.compile(r"run task=(fleet-\w+) outcome=(\w+) scheduled_for=(\S+)")
MISSED = re.compile(r" missed=(\d+)")


class Soak:
    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.primary_port, self.replica_port = free_port(), free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.servers: dict[int, subprocess.Popen[bytes]] = {}
        self.sentinels: list[subprocess.Popen[bytes]] = []
        self.workers: list[Child] = []
        self.events: list[dict[str, Any]] = []

    def redis(self, port: int, *extra: str) -> None:
        args = [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        data = self.logdir / f"redis-{port}"  # its own dir: never another server's dump.rdb
        data.mkdir(exist_ok=True)
        args += ["--appendonly", "no", "--dir", str(data), *extra]
        self.servers[port] = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        self._until(lambda: redis.Redis(port=port).ping())

    def start(self) -> None:
        self.redis(self.primary_port)
        self.redis(self.replica_port, "--replicaof", "127.0.0.1", str(self.primary_port))
        for port in self.sentinel_ports:
            conf = self.logdir / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.logdir}\n"
                f"sentinel monitor mymaster 127.0.0.1 {self.primary_port} 2\n"
                "sentinel down-after-milliseconds mymaster 3000\n"
                "sentinel failover-timeout mymaster 10000\n"
            )
            self.sentinels.append(
                subprocess.Popen([self.binary, str(conf), "--sentinel"], stdout=subprocess.DEVNULL)
            )
        self._until(self._sentinels_ready, timeout=30)
        for _ in range(3):
            self.add_worker()

    def _sentinels_ready(self) -> bool:
        ask = redis.Redis(port=self.sentinel_ports[0]).execute_command  # type: ignore[no-untyped-call]
        return (
            bool(ask("SENTINEL", "REPLICAS", "mymaster"))
            and len(ask("SENTINEL", "SENTINELS", "mymaster")) >= 2
        )

    def add_worker(self) -> Child:
        name = f"r{len(self.workers) + 1}"
        env = clean_env(
            PYTHONPATH=str(ROOT),
            WORKER_APP="tests.apps.fleet:Container",
            REDIS_URL=f"redis://127.0.0.1:{self.primary_port}/0",
            REDIS_SENTINELS=",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports),
            WORKER_INSTANCE_ID=name,
            HEARTBEAT_FILE=str(self.logdir / f"{name}.heartbeat"),
            FLEET_TICK_CRON="* * * * * *",
            FLEET_SLOW_CRON="*/20 * * * * *",
            FLEET_SLOW_SECONDS="4",
            FLEET_BLOCK_CRON="15,45 * * * * *",
            FLEET_BLOCK_SECONDS="7",
            LOG_LEVEL="INFO",
        )
        child = Child(name, [sys.executable, "-m", "worker"], env, self.logdir)
        child.wait_ready(30)
        self.workers.append(child)
        return child

    def kill_running_slow(self) -> None:
        """SIGKILL the replica whose `fleet-slow` run is going (its start line, no end)."""
        self._until(lambda: self._slow_owner() is not None, timeout=30)
        owner = self._slow_owner()
        assert owner is not None
        owner.popen.kill()
        self.events.append({"event": "kill mid-run", "replica": owner.name, "at": time.time()})
        self.add_worker()

    def stop_running_slow(self) -> None:
        """SIGSTOP the replica whose `fleet-slow` run is going for 8 s (past its 5 s lease)."""
        self._until(lambda: self._slow_owner() is not None, timeout=30)
        owner = self._slow_owner()
        assert owner is not None
        owner.popen.send_signal(signal.SIGSTOP)
        self.events.append({"event": "stop mid-run", "replica": owner.name, "at": time.time()})
        time.sleep(8.0)
        owner.popen.send_signal(signal.SIGCONT)

    def planned_failover(self) -> None:
        port = self._master_port()
        ask = redis.Redis(port=self.sentinel_ports[0]).execute_command  # type: ignore[no-untyped-call]
        ask("SENTINEL", "FAILOVER", "mymaster")
        asked = time.time()
        self._until(lambda: self._master_port() != port, timeout=60)
        self.events.append(
            {
                "event": "planned failover",
                "from": port,
                "at": asked,
                "switched_s": time.time() - asked,
            }
        )

    def _slow_owner(self) -> Child | None:
        """The live replica that holds `fleet-slow`'s claim with its run going (Redis says)."""
        claim = redis.Redis(port=self._master_port()).hgetall(CLAIM)
        if claim.get(b"done") != b"0":
            return None
        owner = claim.get(b"owner", b"").decode()
        return next((c for c in self.workers if c.name == owner and c.popen.poll() is None), None)

    def kill_idle(self) -> None:
        busy = self._slow_owner()
        alive = [c for c in self.workers if c.popen.poll() is None and c is not busy]
        victim = alive[0]
        victim.popen.kill()
        self.events.append({"event": "kill idle", "replica": victim.name, "at": time.time()})
        self.add_worker()

    def restart_primary(self) -> None:
        port = self._master_port()
        self.servers[port].kill()
        self.servers[port].wait()
        self.events.append({"event": "redis restart", "port": port, "at": time.time()})
        time.sleep(1.0)  # the fault itself: 1 s down, under the sentinels' 3 s
        # A server run without persistence comes back empty: the dump.rdb it wrote while it
        # was a replica (a full sync writes one even with `--save ""`) would bring back
        # minutes-old marks, and the soak would count what it replays as the worker's doubles.
        (self.logdir / f"redis-{port}" / "dump.rdb").unlink(missing_ok=True)
        self.redis(port)

    def fail_over(self) -> None:
        port = self._master_port()
        self.servers[port].kill()
        self.servers[port].wait()
        killed = time.time()
        self._until(lambda: self._master_port() != port, timeout=60)
        self.events.append(
            {"event": "failover", "killed": port, "at": killed, "switched_s": time.time() - killed}
        )

    def _master_port(self) -> int:
        ask = redis.Redis(port=self.sentinel_ports[0]).execute_command  # type: ignore[no-untyped-call]
        return int(ask("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")[1])

    def stop(self) -> None:
        for child in self.workers:
            child.close()
        for process in [*self.sentinels, *self.servers.values()]:
            process.kill()

    @staticmethod
    def _until(condition: Any, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except redis.RedisError:
                pass
            time.sleep(0.05)
        raise RuntimeError("timed out")


def analyse(soak: Soak, started: float) -> dict[str, Any]:
    runs: list[tuple[str, str, str, int, str]] = []
    recoveries = []
    for child in soak.workers:
        for line in child.stderr_path.read_text(errors="replace").splitlines():
            match = RUN.search(line)
            if match:
                task, outcome, stamp = match.groups()
                missed = MISSED.search(line)
                runs.append((task, outcome, stamp, int(missed[1]) if missed else 0, line))
            if "fire recovered from a dead claimer" in line:
                recoveries.append((child.name, _log_time(line), line))
    ticks = [(s, m) for t, o, s, m, _ in runs if t == "fleet-tick" and o == "ok"]
    counts = Counter(s for s, _ in ticks)
    covered = sorted(_second(s) - k for s, m in ticks for k in range(m + 1))
    blocks = Counter(s for t, o, s, _, _ in runs if t == "fleet-block" and o == "ok")
    seconds = set(covered)
    gaps = [s for s in range(covered[0], covered[-1] + 1) if s not in seconds] if covered else []
    kill = next((e for e in soak.events if e["event"] == "kill mid-run"), None)
    recovery_s = None
    if kill and recoveries:
        recovery_s = round(min(t for _, t, _ in recoveries if t >= kill["at"]) - kill["at"], 2)
    slow_ok = [(s, line) for t, o, s, _, line in runs if t == "fleet-slow" and o == "ok"]
    return {
        "minutes": round((time.time() - started) / 60, 1),
        "tick_runs": len(ticks),
        "tick_seconds_covered": len(seconds),
        "duplicates": sum(1 for c in counts.values() if c > 1),
        "seconds_counted_twice": sum(1 for c in Counter(covered).values() if c > 1),
        "gaps": len(gaps),
        "catch_up_runs": sum(1 for _, m in ticks if m),
        "slow_runs_ok": len(slow_ok),
        "slow_fire_ids_twice_ok": sum(1 for c in Counter(s for s, _ in slow_ok).values() if c > 1),
        "recovered_runs": sum(1 for _, line in slow_ok if "recovered=True" in line),
        "block_runs_ok": sum(blocks.values()),
        "block_fire_ids_twice_ok": sum(1 for c in blocks.values() if c > 1),
        "recoveries": len(recoveries),
        "recovery_after_kill_s": recovery_s,
        "events": soak.events,
    }


def _second(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def _log_time(line: str) -> float:
    return datetime.fromisoformat(line.split(" ", 1)[0].replace("Z", "+00:00")).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    logdir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    soak = Soak(logdir)
    total = args.minutes * 60
    started = time.time()
    faults = [
        (0.15, soak.kill_running_slow),
        (0.25, soak.stop_running_slow),
        (0.35, soak.kill_idle),
        (0.45, soak.planned_failover),
        (0.55, soak.restart_primary),
        (0.75, soak.fail_over),
    ]
    try:
        soak.start()
        for fraction, fault in faults:
            time.sleep(max(started + fraction * total - time.time(), 0))
            fault()
        time.sleep(max(started + total - time.time(), 0))
        for child in soak.workers:
            if child.popen.poll() is None:
                child.terminate(timeout=40)
    finally:
        soak.stop()
    print(json.dumps(analyse(soak, started), indent=2, default=str))
    print(f"logs: {logdir}")


if __name__ == "__main__":
    main()
