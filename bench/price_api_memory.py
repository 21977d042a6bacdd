"""RSS of a processor-only `python -m worker` fed five 50 MB price API answers at once, again
and again, by a local server (tests/price_api.py): the memory the answers leave behind.

    PYTHONPATH=. python -m bench.price_api_memory [--rounds 3] [--size 50000000]
        [--checkout PATH]...

Each `--checkout` (default: this one) is a source tree whose `worker` is run (PYTHONPATH set to
it), one after the other on one redis-server and one price API, so a change can be compared
with the tree before it in the same run (`--checkout ../main --checkout .`). Per round: five
`sync-coin` jobs, answered in turn with a declared `Content-Length` and without one (the body
ends when the connection closes), each answer an unterminated JSON array; the round ends when
all five jobs have ended. Printed: RSS once ready and warm (one ordinary job done), the peak
(sampled every 50 ms), after each round, and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import psutil
import redis

from bench.procs import Child, clean_env, start_redis
from tests.price_api import PriceApi, price_api

ROOT = Path(__file__).resolve().parent.parent
COINS = tuple(f"coin{n}" for n in range(5))
MB = 1024 * 1024
SAMPLE_S = 0.05


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=50_000_000, help="bytes per answer")
    parser.add_argument("--checkout", action="append", type=Path, help="a source tree to run")
    args = parser.parse_args()
    checkouts = [path.resolve() for path in args.checkout or [ROOT]]
    with tempfile.TemporaryDirectory(prefix="bench-price-api-") as folder:
        logdir = Path(folder)
        server, url = start_redis(logdir)
        try:
            with price_api() as api:
                for checkout in checkouts:
                    redis.Redis.from_url(url).flushall()
                    print(f"{checkout}: {_measure(checkout, url, api, args, logdir)}", flush=True)
        finally:
            server.close()
    return 0


def _measure(
    checkout: Path, url: str, api: PriceApi, args: argparse.Namespace, logdir: Path
) -> str:
    env = clean_env(
        PYTHONPATH=str(checkout),
        REDIS_URL=url,
        WORKER_ROLES="processor",
        PRICE_API_URL=api.url,
        COINS="bitcoin",
        LOG_LEVEL="INFO",  # the `ready` line
        HEARTBEAT_FILE=str(logdir / f"heartbeat-{checkout.name}"),
    )
    child = Child(f"worker-{checkout.name}", [sys.executable, "-m", "worker"], env, logdir)
    try:
        child.wait_ready(timeout=30)
        process = psutil.Process(child.popen.pid)
        asyncio.run(_enqueue(url, [("bitcoin", "warm")]))  # httpx loaded, a job done
        _until_ended(url, ["warm"], process, timeout=30)
        ready = process.memory_info().rss
        peak, rounds = ready, []
        for round_ in range(args.rounds):
            for n, coin in enumerate(COINS):
                api.scripts[coin] = [f"{'stream' if n % 2 else 'big'}:{args.size}"]
            ids = [f"{coin}-{round_}" for coin in COINS]
            asyncio.run(_enqueue(url, list(zip(COINS, ids, strict=True))))
            peak = max(peak, _until_ended(url, ids, process, timeout=120))
            rounds.append(process.memory_info().rss)
        after = ", ".join(f"{rss / MB:.1f}" for rss in rounds)
        return (
            f"RSS ready {ready / MB:.1f} MB, peak {peak / MB:.1f} MB, after each round {after} MB"
            f" ({args.rounds} rounds of {len(COINS)} answers of {args.size / 1e6:g} MB at once)"
        )
    finally:
        child.close()


async def _enqueue(url: str, jobs: list[tuple[str, str]]) -> None:
    from worker.queues.queues import Queues

    queues = Queues(url=url, prefix="bull", overrides={}, timeout=5.0)
    try:
        for coin, job_id in jobs:
            await queues.add("coin-sync", "sync-coin", {"coin": coin}, job_id=job_id)
    finally:
        await queues.close()


def _until_ended(url: str, ids: list[str], process: psutil.Process, timeout: float) -> int:
    """Wait until every job is completed or failed; the highest RSS seen meanwhile."""
    client = redis.Redis.from_url(url, decode_responses=True)
    deadline, peak = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        peak = max(peak, process.memory_info().rss)
        ended = {
            *client.zrange("bull:coin-sync:completed", 0, -1),
            *client.zrange("bull:coin-sync:failed", 0, -1),
        }
        if ended.issuperset(ids):
            return peak
        time.sleep(SAMPLE_S)
    raise TimeoutError(f"jobs {ids} did not end within {timeout:g} s")


if __name__ == "__main__":
    sys.exit(main())
