"""CPU of one `worker health` call (Docker runs it every 10 s), as user+sys of the process.

    python -m bench.probe [--runs 30] [--tree DIR ...]

Each tree is run as `python -m worker health` with that directory as the working directory
(so its `worker` package is the one imported), against a fresh heartbeat file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cpu_per_call(tree: Path, runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as scratch:
        heartbeat = Path(scratch) / "hb"
        env = {**os.environ, "HEARTBEAT_FILE": str(heartbeat)}
        samples = []
        for _ in range(runs):
            # Both formats the worker has written: JSON now, "<id> <time>" before.
            heartbeat.write_text(json.dumps({"time": time.time(), "interval": 10}))
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(
                [sys.executable, "-m", "worker", "health"],
                cwd=tree,
                env=env,
                stdout=subprocess.DEVNULL,
                check=False,
            )
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            spent = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            samples.append(spent * 1000)
        return samples


def bare_interpreter(runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", "pass"], check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        samples.append(spent * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tree", action="append", type=Path, default=[])
    args = parser.parse_args()
    trees = args.tree or [Path.cwd()]
    rows = [("python -c pass", bare_interpreter(args.runs))]
    rows += [(f"worker health ({tree})", cpu_per_call(tree, args.runs)) for tree in trees]
    for label, samples in rows:
        print(
            f"{label}: user+sys per call median {statistics.median(samples):.1f} ms "
            f"(min {min(samples):.1f}, max {max(samples):.1f}, n={len(samples)})"
        )


if __name__ == "__main__":
    main()
