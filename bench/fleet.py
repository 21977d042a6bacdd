"""The fleet on one Redis: lag with 1 and 3 replicas, 1,000 tasks due at once, Redis cost.

    python -m bench.fleet [--fires 60] [--instants 5] [--tasks 1000] [--baseline-tree DIR]
        [--only lag|burst]

1. Lag: the shipped app (`crypto-trigger` every second) on 1, then 3 replicas, each next to
   the floor (bench.floor: sleep to the second, PUBLISH); receipt minus scheduled second,
   p50/p99, plus duplicated and missing seconds. Target: p99 at 3 replicas ≤ floor p99 + 1 ms.
2. Commands: INFO commandstats over the 3-replica window, per fire per replica.
3. Burst: `--tasks` tasks due every even second (bench/fleet_app.py, methods that return at
   once): instance-scoped on 1 replica, cluster-scoped on 3 (each must run once fleet-wide
   per instant), each at LOG_LEVEL=WARNING and INFO; the first and last start after the
   instant, medians over `--instants`. With `--baseline-tree`, every phase also runs that
   tree's worker (e.g. a `git worktree` of an older commit), one after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from bench.messages import MessageLog
from bench.procs import BenchError, Child, clean_env, start_redis
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


def worker(
    name: str,
    url: str,
    logdir: Path,
    env: dict[str, str],
    *,
    tree: Path = ROOT,
    path: Path | None = None,
    log_level: str = "INFO",
) -> Child:
    """`python -m worker` from `tree` (`path` also importable: an application)."""
    settings = clean_env(
        REDIS_URL=url,
        PYTHONPATH=os.pathsep.join(str(p) for p in (tree.resolve(), path) if p is not None),
        WORKER_INSTANCE_ID=name,
        HEARTBEAT_FILE=str(logdir / f"{name}.heartbeat"),
        LOG_LEVEL=log_level,
        **env,
    )
    return Child(name, [sys.executable, "-m", "worker"], settings, logdir)


def lag_phase(
    url: str, replicas: int, fires: int, logdir: Path, tree: Path = ROOT
) -> dict[str, Any]:
    """Floor and `replicas` workers of `tree` side by side, each on its own channel."""
    label = f"{tree.name}-{replicas}"
    channels = {"floor": f"floor-{label}", "fleet": f"fleet-{label}"}
    out = logdir / f"messages-{label}.jsonl"
    subscriber = Child(
        f"subscriber-{label}",
        [sys.executable, "-m", "bench.subscriber", url, str(out), *channels.values()],
        clean_env(PYTHONPATH=str(ROOT)),
        logdir,
    )
    subscriber.wait_ready(10)
    floor = Child(
        f"floor-{label}",
        [sys.executable, "-m", "bench.floor", url, channels["floor"]],
        clean_env(PYTHONPATH=str(ROOT)),
        logdir,
    )
    env = {
        "SCHEDULE_CRYPTO_TRIGGER": "* * * * * *",
        "CRYPTO_CHANNEL": channels["fleet"],
        "KEY_PREFIX": f"lag-{label}:",
    }
    workers = [worker(f"r{label}-{i}", url, logdir, env, tree=tree) for i in range(replicas)]
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
    result: dict[str, Any] = {"tree": str(tree), "replicas": replicas}
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


def burst_phase(
    url: str,
    tasks: int,
    instants: int,
    logdir: Path,
    *,
    replicas: int = 3,
    scope: str = "cluster",
    log_level: str = "INFO",
    tree: Path = ROOT,
) -> dict[str, Any]:
    """`tasks` tasks of `scope` due at each even second on `replicas` replicas of `tree`'s
    worker: a cluster task must run once fleet-wide per instant, an instance one on each."""
    label = f"burst-{tree.name}-{replicas}-{scope}-{log_level}"
    app_dir = logdir / "app"  # the app, importable whichever tree the worker comes from
    app_dir.mkdir(exist_ok=True)
    shutil.copy(ROOT / "bench" / "fleet_app.py", app_dir / "burst_app.py")
    env = {
        "WORKER_APP": "burst_app:Container",
        "BENCH_TASKS": str(tasks),
        "BENCH_SCOPE": scope,
        "KEY_PREFIX": f"{label}:",
    }
    outs = [logdir / f"{label}-{i}.json" for i in range(replicas)]
    workers = [
        worker(
            f"{label}-{i}",
            url,
            logdir,
            {**env, "BENCH_OUT": str(outs[i])},
            tree=tree,
            path=app_dir,
            log_level=log_level,
        )
        for i in range(replicas)
    ]
    try:
        for index, child in enumerate(workers):
            if log_level == "INFO":
                child.wait_ready(60)
            else:  # no `ready` line below INFO: its heartbeat file says it is up
                _wait_for_file(logdir / f"{label}-{index}.heartbeat", child, 60)
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
    expected = tasks if scope == "cluster" else tasks * replicas
    return {
        "tree": str(tree),
        "replicas": replicas,
        "scope": scope,
        "log_level": log_level,
        "tasks": tasks,
        "instants": len(measured),
        "runs_per_instant": runs,
        "each_once": all(r == expected for r in runs) and all(d == tasks for d in distinct),
        "distinct_per_instant": distinct,
        "first_start_ms": round(statistics.median(first) * 1000, 1) if first else None,
        "last_start_ms_median": round(statistics.median(last) * 1000, 1) if last else None,
        "last_start_ms_max": round(max(last) * 1000, 1) if last else None,
    }


def _wait_for_file(path: Path, child: Child, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline or child.popen.poll() is not None:
            raise BenchError(f"{child.name} not up within {timeout:.0f} s: {child.tail()}")
        time.sleep(0.01)


BURSTS = (
    (1, "instance", "WARNING"),
    (1, "instance", "INFO"),
    (3, "cluster", "WARNING"),
    (3, "cluster", "INFO"),
)
"""The burst phases: replicas, scope, log level."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fires", type=int, default=60)
    parser.add_argument("--instants", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--baseline-tree", type=Path, help="also run this tree's worker")
    parser.add_argument("--only", choices=("lag", "burst"), help="one phase only")
    parser.add_argument("--replicas", type=int, choices=(1, 3), help="bursts on this many only")
    parser.add_argument("--level", choices=("WARNING", "INFO"), help="bursts at this level only")
    args = parser.parse_args()
    logdir = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    server, url = start_redis(logdir)
    trees = [ROOT] if args.baseline_tree is None else [args.baseline_tree.resolve(), ROOT]
    report: dict[str, Any] = {"lag": [], "burst": []}
    try:
        for tree in trees if args.only != "burst" else ():
            report["lag"] += [lag_phase(url, n, args.fires, logdir, tree) for n in (1, 3)]
        for replicas, scope, level in BURSTS if args.only != "lag" else ():
            if args.replicas not in (None, replicas) or args.level not in (None, level):
                continue
            for tree in trees:  # side by side: each phase on every tree before the next
                burst = burst_phase(
                    url,
                    args.tasks,
                    args.instants,
                    logdir,
                    replicas=replicas,
                    scope=scope,
                    log_level=level,
                    tree=tree,
                )
                report["burst"].append(burst)
    finally:
        server.close()
    print(json.dumps(report, indent=2))
    for lag in report["lag"]:
        floor, fleet = lag["floor"], lag["fleet"]
        print(
            f"{lag['tree']}: {lag['replicas']} replica(s): p50/p99 {fleet['p50_ms']}/"
            f"{fleet['p99_ms']} ms, floor {floor['p50_ms']}/{floor['p99_ms']} ms, "
            f"doubled {fleet['doubled']}, missing {fleet['missing']}"
        )
    for burst in report["burst"]:
        print(
            f"{burst['tree']}: {burst['tasks']} {burst['scope']} tasks on {burst['replicas']} "
            f"replica(s), LOG_LEVEL={burst['log_level']}: first {burst['first_start_ms']} ms, "
            f"last {burst['last_start_ms_median']} ms (max {burst['last_start_ms_max']}), "
            f"each once: {burst['each_once']}"
        )
    print(f"logs: {logdir}")


if __name__ == "__main__":
    main()
