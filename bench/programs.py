"""The three programs under comparison and how each one is started."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from bench.procs import clean_env

ROOT = Path(__file__).resolve().parent.parent
WORKER = "worker"
FLOOR = "floor"
APSCHEDULER = "apscheduler"
BEFORE = "worker-before"
"""The worker from another tree (`--baseline-tree`): before and after in one run."""
NAMES = (WORKER, FLOOR, APSCHEDULER)


@dataclass(frozen=True)
class Program:
    name: str
    channel: str
    argv: list[str]
    env: dict[str, str]


def programs(redis_url: str, workdir: Path, baseline: Path | None = None) -> list[Program]:
    """The worker (its real default tasks, crypto trigger every second), the floor, the
    script; with `baseline`, the worker of that tree too (its own channel and key prefix)."""
    plain = clean_env(PYTHONPATH=str(ROOT))
    worker = [_worker(WORKER, ROOT, redis_url, workdir, "bench-worker")]
    if baseline is not None:
        worker.append(_worker(BEFORE, baseline, redis_url, workdir, "bench-worker-before"))
    return [
        *worker,
        Program(FLOOR, "bench-floor", _module("bench.floor", redis_url, "bench-floor"), plain),
        Program(
            APSCHEDULER,
            "bench-apscheduler",
            _module("bench.apscheduler_script", redis_url, "bench-apscheduler"),
            plain,
        ),
    ]


def _worker(name: str, tree: Path, redis_url: str, workdir: Path, channel: str) -> Program:
    env = clean_env(
        PYTHONPATH=str(tree.resolve()),
        SCHEDULE_CRYPTO_TRIGGER="* * * * * *",
        CRYPTO_CHANNEL=channel,
        REDIS_URL=redis_url,
        HEARTBEAT_FILE=str(workdir / f"{name}.heartbeat"),
        LOG_LEVEL="INFO",
    )
    if name != WORKER:  # claims of its own: the two workers must not share fires
        env["KEY_PREFIX"] = f"{name}:"
    return Program(name, channel, [sys.executable, "-m", "worker"], env)


def _module(module: str, redis_url: str, channel: str) -> list[str]:
    return [sys.executable, "-m", module, redis_url, channel]
