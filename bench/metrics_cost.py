"""What METRICS_PORT costs: spawn → ready, RSS and SIGTERM → exit, metrics off vs on.

    PYTHONPATH=. python -m bench.metrics_cost [--rounds N]

Rounds alternate off and on (after one unmeasured warm-up of each), so drift hits both
alike. RSS is read two seconds after `ready` (two trigger runs), after one scrape when on.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.procs import Child, clean_env, free_port, start_redis

RSS_AFTER_S = 2.0


def one_round(redis_url: str, logdir: Path, name: str, metrics: bool) -> tuple[float, float, float]:
    """Seconds to ready, RSS in MiB, seconds from SIGTERM to exit."""
    port = free_port()
    env = clean_env(
        REDIS_URL=redis_url,
        SCHEDULE_CRYPTO_TRIGGER="* * * * * *",
        LOG_LEVEL="INFO",
        HEARTBEAT_FILE=str(logdir / f"{name}.heartbeat"),
        PYTHONPATH=str(Path.cwd()),
    )
    if metrics:
        env["METRICS_PORT"] = str(port)
    child = Child(name, [sys.executable, "-m", "worker"], env, logdir)
    try:
        ready = child.wait_ready(timeout=30) - child.spawned_at
        time.sleep(RSS_AFTER_S)  # the measurement window itself
        if metrics:
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).raise_for_status()
        rss = child.memory()[0] / 2**20
        stop = child.terminate(timeout=30).seconds
    finally:
        child.close()
    return ready, rss, stop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per setting")
    rounds = parser.parse_args().rounds
    logdir = Path(tempfile.mkdtemp(prefix="metrics-cost-"))
    server, url = start_redis(logdir)
    figures: dict[bool, list[tuple[float, float, float]]] = {False: [], True: []}
    try:
        for index in range(rounds + 1):
            for metrics in (False, True):
                found = one_round(url, logdir, f"worker-{index}-{int(metrics)}", metrics)
                if index:  # round 0 warms the page cache and the .pyc files
                    figures[metrics].append(found)
    finally:
        server.close()
    print(f"{'metrics':8} {'ready ms':>9} {'RSS MiB':>8} {'stop ms':>8}   (medians of {rounds})")
    for metrics, rows in figures.items():
        ready, rss, stop = (statistics.median(column) for column in zip(*rows, strict=True))
        label = "on" if metrics else "off"
        print(f"{label:8} {ready * 1000:9.0f} {rss:8.1f} {stop * 1000:8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
