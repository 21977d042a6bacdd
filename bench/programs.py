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
NAMES = (WORKER, FLOOR, APSCHEDULER)


@dataclass(frozen=True)
class Program:
    name: str
    channel: str
    argv: list[str]
    env: dict[str, str]


def programs(redis_url: str, workdir: Path) -> list[Program]:
    """The worker (its real default tasks, crypto trigger every second), the floor, the script."""
    plain = clean_env(PYTHONPATH=str(ROOT))
    worker_env = clean_env(
        PYTHONPATH=str(ROOT),
        SCHEDULE_CRYPTO_TRIGGER="* * * * * *",
        CRYPTO_CHANNEL="bench-worker",
        REDIS_URL=redis_url,
        HEARTBEAT_FILE=str(workdir / "worker.heartbeat"),
        LOG_LEVEL="INFO",
    )
    return [
        Program(WORKER, "bench-worker", [sys.executable, "-m", "worker"], worker_env),
        Program(FLOOR, "bench-floor", _module("bench.floor", redis_url, "bench-floor"), plain),
        Program(
            APSCHEDULER,
            "bench-apscheduler",
            _module("bench.apscheduler_script", redis_url, "bench-apscheduler"),
            plain,
        ),
    ]


def _module(module: str, redis_url: str, channel: str) -> list[str]:
    return [sys.executable, "-m", module, redis_url, channel]
