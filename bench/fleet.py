"""The fleet on one Redis: lag with 1 and 3 replicas, 1,000 tasks due at once, Redis cost.

    python -m bench.fleet [--fires 60] [--instants 5] [--tasks 1000]

1. Lag: the shipped app (`crypto-trigger` every second) on 1, then 3 replicas, each next to
   the floor (bench.floor: sleep to the second, PUBLISH); receipt minus scheduled second,
   p50/p99, plus duplicated and missing seconds. Target: p99 at 3 replicas ≤ floor p99 + 1 ms.
2. Commands: INFO commandstats over the 3-replica window, per fire per replica.
3. Burst: `--tasks` cluster tasks due every even second (bench/fleet_app.py) on 3 replicas:
   per instant each task must run once fleet-wide; the last start after the instant.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from bench.messages import MessageLog
from bench.procs import Child, clean_env, start_redis
from bench.stats import LagStats

ROOT = Path(__file__).resolve().parent.parent
PERIOD = 2
IN_SCRIPTS = {
    "time",
    "hmget",
    "hset",
    "hget",
    "zadd",
    "zrem",
    "zrange",
    "zrangebyscore",
    "xadd",
    "exists",
}
IN_SCRIPTS |= {"publish"}  # the trigger's PUBLISH goes inside a script (see worker.targets)
"""Commands the worker only runs inside its Lua scripts: no round trip of their own."""


def worker(name: str, url: str, logdir: Path, **env: str) -> Child:
    settings = clean_env(
        REDIS_URL=url,
        PYTHONPATH=str(ROOT),
        WORKER_INSTANCE_ID=name,
        HEARTBEAT_FILE=str(logdir / f"{name}.heartbeat"),
        LOG_LEVEL="INFO",
        **env,
    )
    return Child(name, [sys.executable, "-m", "worker"], settings, logdir)


def lag_phase(url: str, replicas: int, fires: int, logdir: Path) -> dict[str, Any]:
    """Floor and `replicas` workers side by side, each on its own channel."""
    channels = {"floor": f"floor-{replicas}", "fleet": f"fleet-{replicas}"}
    out = logdir / f"messages-{replicas}.jsonl"
    subscriber = Child(
        f"subscriber-{replicas}",
        [sys.executable, "-m", "bench.subscriber", url, str(out), *channels.values()],
        clean_env(PYTHONPATH=str(ROOT)),
        logdir,
    )
    subscriber.wait_ready(10)
    floor = Child(
        f"floor-{replicas}",
        [sys.executable, "-m", "bench.floor", url, channels["floor"]],
        clean_env(PYTHONPATH=str(ROOT)),
        logdir,
    )
    env = {"SCHEDULE_CRYPTO_TRIGGER": "* * * * * *", "CRYPTO_CHANNEL": channels["fleet"]}
    workers = [worker(f"r{replicas}-{i}", url, logdir, **env) for i in range(replicas)]
    children = [subscriber, floor, *workers]
    try:
        for child in (floor, *workers):
            child.wait_ready(20)
        time.sleep(3)  # warm-up
        client = redis.Redis.from_url(url)
        before = client.info("commandstats")
        first = int(time.time()) + 1
        time.sleep(fires + 1.5)
        after = client.info("commandstats")
        seconds = range(first, first + fires)
    finally:
        for child in reversed(children):
            child.terminate(timeout=40)
    log = MessageLog(out)
    log.refresh()
    result: dict[str, Any] = {"replicas": replicas}
    for label, channel in channels.items():
        messages = [m for m in log.of(channel) if m.second in seconds]
        counts: dict[int, int] = {}
        for message in messages:
            counts[message.second] = counts.get(message.second, 0) + 1
        stats = LagStats.of([m.lag_ms for m in messages])
        result[label] = {
            "p50_ms": stats.median,
            "p99_ms": stats.p99,
            "max_ms": stats.max,
            "fires": len(messages),
            "doubled": sum(1 for c in counts.values() if c > 1),
            "missing": sum(1 for s in seconds if s not in counts),
        }
    result["commands"] = _per_fire(before, after, fires, replicas)
    return result


def _per_fire(
    before: dict[str, Any], after: dict[str, Any], fires: int, replicas: int
) -> dict[str, float]:
    """Calls per fire per replica, by command (the floor's PUBLISH and INFO left out)."""
    found: dict[str, float] = {}
    for name, stats in after.items():
        calls = stats["calls"] - before.get(name, {}).get("calls", 0)
        if name == "cmdstat_publish":
            calls -= fires  # the floor's
        if name == "cmdstat_info" or calls <= 0:
            continue
        found[name.removeprefix("cmdstat_")] = round(calls / fires / replicas, 3)
    found["total"] = round(sum(found.values()), 3)
    inner = sum(v for k, v in found.items() if k in IN_SCRIPTS)
    found["sent (total minus commands run inside scripts)"] = round(found["total"] - inner, 3)
    return found


def burst_phase(url: str, tasks: int, instants: int, logdir: Path) -> dict[str, Any]:
    """`tasks` cluster tasks due at each even second on 3 replicas."""
    env = {"WORKER_APP": "bench.fleet_app:Container", "BENCH_TASKS": str(tasks)}
    outs = [logdir / f"burst-{i}.json" for i in range(3)]
    workers = [worker(f"burst-{i}", url, logdir, BENCH_OUT=str(outs[i]), **env) for i in range(3)]
    try:
        for child in workers:
            child.wait_ready(60)
        start = (int(time.time()) // PERIOD + 2) * PERIOD  # the first instant is warm-up
        time.sleep(start + PERIOD * (instants + 1) - time.time() + 0.5)
    finally:
        for child in workers:
            child.terminate(timeout=40)
    starts: dict[int, list[tuple[int, float]]] = {}
    for out in outs:
        for number, moment in json.loads(out.read_text()):
            instant = int(moment // PERIOD) * PERIOD
            starts.setdefault(instant, []).append((number, moment))
    measured = [i for i in sorted(starts) if start + PERIOD <= i < start + PERIOD * (instants + 1)]
    last = [max(m for _, m in starts[i]) - i for i in measured]
    first = [min(m for _, m in starts[i]) - i for i in measured]
    runs = [len(starts[i]) for i in measured]
    distinct = [len({n for n, _ in starts[i]}) for i in measured]
    return {
        "tasks": tasks,
        "instants": len(measured),
        "runs_per_instant": runs,
        "distinct_per_instant": distinct,
        "first_start_ms": round(statistics.median(first) * 1000, 1) if first else None,
        "last_start_ms_median": round(statistics.median(last) * 1000, 1) if last else None,
        "last_start_ms_max": round(max(last) * 1000, 1) if last else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fires", type=int, default=60)
    parser.add_argument("--instants", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=1000)
    args = parser.parse_args()
    logdir = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    server, url = start_redis(logdir)
    try:
        report = {
            "lag": [lag_phase(url, n, args.fires, logdir) for n in (1, 3)],
            "burst": burst_phase(url, args.tasks, args.instants, logdir),
        }
    finally:
        server.close()
    print(json.dumps(report, indent=2))
    three = report["lag"][1]
    target = (three["floor"]["p99_ms"] or 0) + 1
    print(
        f"3 replicas: p99 {three['fleet']['p99_ms']} ms, target ≤ floor p99 + 1 = {target:.2f} ms"
    )
    print(f"logs: {logdir}")


if __name__ == "__main__":
    main()
