"""Many cron tasks due at one instant: how soon after it do their runs start?

    python -m bench.many_tasks [--tasks 1000] [--instants 6] [--baseline REF]

Each scenario runs in its own process: 1,000 cron tasks (every even second) mounted on the
real Orchestrator + Runner (AdmitAll gate, one listener, no Redis), each method records
`time.time()` when it starts and then awaits 0.1 s. Per instant: the lag of the first and of
the last start after the instant; the table shows the median over the measured instants
(the first two are warm-up). `same` gives every task `*/2 * * * * *`; `distinct` gives each
task its own expression matching the same seconds. `apscheduler` is a plain
AsyncIOScheduler with 1,000 `CronTrigger(second="*/2")` jobs and its defaults.
`--baseline REF` also runs the project scenarios on the tree of commit REF (via
`git archive`), labelled `before`, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

PERIOD = 2
WARMUP = 2
ROOT = Path(__file__).resolve().parent.parent


def expressions(kind: str, count: int) -> list[str]:
    """`same`: one expression for all; `distinct`: `count` spellings of the same seconds."""
    if kind == "same":
        return ["*/2 * * * * *"] * count
    spelled = [f"0-59/2 {m}-59,0-{m} {h}-23,0-{h} * * *" for h in range(24) for m in range(60)]
    if count > len(spelled):
        raise SystemExit(f"at most {len(spelled)} distinct expressions")
    return spelled[:count]


class Starts:
    """Method start times, by the instant they are due for (whole multiples of PERIOD)."""

    def __init__(self) -> None:
        self.by_instant: dict[int, list[float]] = defaultdict(list)

    def method(self, hold: float = 0.1) -> Callable[[], Coroutine[Any, Any, None]]:
        async def run() -> None:
            now = time.time()
            self.by_instant[int(now // PERIOD) * PERIOD].append(now)
            await asyncio.sleep(hold)

        return run

    def complete(self, count: int) -> list[int]:
        return sorted(i for i, seen in self.by_instant.items() if len(seen) >= count)

    def lags(self, count: int, measured: int) -> list[tuple[float, float]]:
        done = self.complete(count)[WARMUP : WARMUP + measured]
        return [
            ((min(s) - i) * 1000, (max(s) - i) * 1000) for i in done for s in [self.by_instant[i]]
        ]


async def wait_for(starts: Starts, count: int, instants: int) -> None:
    deadline = time.monotonic() + PERIOD * (instants + WARMUP + 4)
    while len(starts.complete(count)) < instants + WARMUP and time.monotonic() < deadline:
        await asyncio.sleep(0.2)


async def project(kind: str, count: int, instants: int) -> list[tuple[float, float]]:
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from loguru import logger

    from worker.connect.outage import OutageMonitor
    from worker.run.gate import AdmitAll
    from worker.run.runner import Runner
    from worker.schedule.cron import CronSchedule
    from worker.schedule.definitions import TaskDefinition
    from worker.scheduler.orchestrator import Orchestrator

    logger.remove()
    logger.add(lambda message: None, level="INFO", serialize=True)  # the cost, not the text
    records: list[Any] = []
    listener = type("Listener", (), {"on_run": lambda _, r: records.append(r)})()
    runner = Runner(
        instance_id="bench",
        misfire_grace=60.0,
        outage=OutageMonitor(),
        listeners=[listener],
        gate=AdmitAll(),
        admit_timeout=5.0,
    )
    orchestrator, starts = Orchestrator(runner, UTC), Starts()
    for i, expr in enumerate(expressions(kind, count)):
        name = f"t{i:04d}"
        definition = TaskDefinition(
            name, "bench", name, CronSchedule(expr), "instance", ZoneInfo("UTC"), 0.0, False, True
        )
        orchestrator.mount(definition, starts.method())
    orchestrator.start()
    await wait_for(starts, count, instants)
    orchestrator.stop()
    await runner.drain(5.0)
    return starts.lags(count, instants)


async def apscheduler(count: int, instants: int) -> list[tuple[float, float]]:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.cron import CronTrigger

    scheduler, starts = AsyncIOScheduler(timezone="UTC"), Starts()
    for i in range(count):
        scheduler.add_job(starts.method(), CronTrigger(second="*/2", timezone="UTC"), id=f"t{i}")
    scheduler.start()
    await wait_for(starts, count, instants)
    scheduler.shutdown(wait=False)
    await asyncio.sleep(0.3)
    return starts.lags(count, instants)


def scenario(name: str, count: int, instants: int) -> dict[str, Any]:
    """Run one scenario in this process (the parent starts one process per scenario)."""
    if name == "apscheduler":
        lags = asyncio.run(apscheduler(count, instants))
    else:
        lags = asyncio.run(project(name, count, instants))
    import worker

    return {"lags": lags, "worker": str(Path(worker.__file__).parent)}


def spawn(name: str, count: int, instants: int, tree: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    script = [sys.executable, str(Path(__file__).resolve())]
    args = ["--scenario", name, "--tasks", str(count), "--instants", str(instants)]
    done = subprocess.run(script + args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def baseline_tree(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def summary(label: str, result: dict[str, Any]) -> str:
    lags = result["lags"]
    if not lags:
        return f"| {label} | no complete instant | | |"
    firsts, lasts = [f for f, _ in lags], [last for _, last in lags]
    return (
        f"| {label} | {statistics.median(firsts):.1f} ({min(firsts):.1f}-{max(firsts):.1f}) "
        f"| {statistics.median(lasts):.1f} ({min(lasts):.1f}-{max(lasts):.1f}) | {len(lags)} |"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.many_tasks")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--instants", type=int, default=6)
    parser.add_argument("--baseline", help="also run the project scenarios on this commit")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scenario:
        print(json.dumps(scenario(args.scenario, args.tasks, args.instants)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        trees = [("after", ROOT)]
        if args.baseline:
            trees.insert(0, (f"before ({args.baseline})", baseline_tree(args.baseline, Path(tmp))))
        runs = [
            (f"project {kind}, {label}", kind, tree)
            for label, tree in trees
            for kind in ("same", "distinct")
        ]
        runs.append(("plain APScheduler", "apscheduler", ROOT))
        print(
            f"{args.tasks} cron tasks due at one instant; start lag after it, ms: "
            "median (min-max) over instants"
        )
        print("| scenario | first start | last start | instants |\n|---|---|---|---|")
        for label, kind, tree in runs:
            print(summary(label, spawn(kind, args.tasks, args.instants, tree)), flush=True)


if __name__ == "__main__":
    main()
