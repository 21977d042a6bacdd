"""Start-up cost of `python -m worker` from several trees: spawn → ready, RSS, SIGTERM → exit.

    PYTHONPATH=. python -m bench.startup --tree /path/to/old --tree . [--rounds N]

Rounds alternate the trees (and the plain APScheduler script, as the reference the targets
are held to), after one unmeasured warm-up of each, so drift hits all alike. Each worker runs
its shipped tasks with the crypto trigger every second; RSS (process tree) is read two
seconds after `ready`. `--coin-sync` also fires `coin-sync` once a second from the start
(against a price API that answers nothing: the jobs fail, their imports are paid), so both
RSS figures include the price path; the second is read three seconds later (growth).

Each program gets a bytecode cache of its own (PYTHONPYCACHEPREFIX, written in the
warm-up round), as in the image, which compiles every module at build time. `--source`
sets PYTHONDONTWRITEBYTECODE=1 instead: in a tree without `__pycache__`, every start
compiles the tree's modules again (the installed packages keep their bytecode).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.procs import Child, clean_env, free_port, start_redis

RSS_AFTER_S = 2.0
COIN_SYNC_AFTER_S = 3.0
REFERENCE = "apscheduler"


def one_round(
    redis_url: str, logdir: Path, name: str, tree: Path | None, options: argparse.Namespace
) -> tuple[float, ...]:
    """Seconds to ready, RSS in MiB (and after coin-sync fires), seconds from SIGTERM to exit."""
    if tree is None:
        argv = [sys.executable, "-m", "bench.apscheduler_script", redis_url, f"ch-{name}"]
        env = clean_env(PYTHONPATH=str(Path.cwd()))
    else:
        argv = [sys.executable, "-m", "worker"]
        env = clean_env(
            REDIS_URL=redis_url,
            SCHEDULE_CRYPTO_TRIGGER="* * * * * *",
            CRYPTO_CHANNEL=f"ch-{name}",
            KEY_PREFIX=f"{name}:",
            LOG_LEVEL="INFO",
            HEARTBEAT_FILE=str(logdir / f"{name}.heartbeat"),
            PYTHONPATH=str(tree.resolve()),
        )
        if options.coin_sync:
            env.update(
                SCHEDULE_COIN_SYNC="1s",
                SYNC_MAX_DELAY="0s",
                PRICE_API_URL=f"http://127.0.0.1:{free_port()}",
                QUEUE_PREFIX=f"bull-{name}",
            )
    if options.source:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = str(logdir / f"pyc-{name.split('-')[0]}")
    child = Child(name, argv, env, logdir)
    try:
        ready = child.wait_ready(timeout=30) - child.spawned_at
        time.sleep(RSS_AFTER_S)
        rss = child.memory()[0] / 2**20
        figures = [ready, rss]
        if options.coin_sync:
            time.sleep(COIN_SYNC_AFTER_S)
            figures.append(child.memory()[0] / 2**20 if tree is not None else rss)
        stop = child.terminate(timeout=30)
        if stop.code != 0:
            print(f"{name}: exit {stop.code}", file=sys.stderr)
        figures.append(stop.seconds)
    finally:
        child.close()
    return tuple(figures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", action="append", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per program")
    parser.add_argument("--coin-sync", action="store_true", help="also RSS after coin-sync")
    parser.add_argument("--source", action="store_true", help="compile the trees each start")
    args = parser.parse_args()
    logdir = Path(tempfile.mkdtemp(prefix="startup-"))
    server, url = start_redis(logdir)
    programs: dict[str, Path | None] = {REFERENCE: None}
    programs.update({f"{index}:{tree}": tree for index, tree in enumerate(args.tree)})
    figures: dict[str, list[tuple[float, ...]]] = {label: [] for label in programs}
    try:
        for index in range(args.rounds + 1):
            for number, (label, tree) in enumerate(programs.items()):
                found = one_round(url, logdir, f"p{number}-r{index}", tree, args)
                if index:  # round 0 warms the page cache and the .pyc files
                    figures[label].append(found)
    finally:
        server.close()
    columns = ["ready ms", "RSS MiB", *(["+coin MiB"] if args.coin_sync else []), "stop ms"]
    header = " ".join(f"{column:>9}" for column in columns)
    print(f"{'program':40} {header}  (medians of {args.rounds})")
    for label, rows in figures.items():
        medians = [statistics.median(column) for column in zip(*rows, strict=True)]
        shown = [medians[0] * 1000, *medians[1:-1], medians[-1] * 1000]
        fastest = min(row[0] for row in rows) * 1000
        print(f"{label[-40:]:40} " + " ".join(f"{value:9.1f}" for value in shown), end="")
        print(f"  (ready min {fastest:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
