"""Save → ready of `worker dev`: edit the app's file N times, time each new `ready` line.

    python -m bench.reload [--saves 5]

A throwaway redis-server and app directory; the time is from just before the write to the
`time` of the new process' `ready` line (JSON logs, millisecond stamps). Prints each save
and the p50, min and max.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.procs import BenchError, Child, clean_env, start_redis

APP = """\
from dependency_injector import providers

from worker import FrameworkContainer, interval


class Tasks:
    @interval("{every}s", name="beat", scope="instance")
    async def beat(self) -> None: ...


class Container(FrameworkContainer):
    tasks = providers.Singleton(Tasks)
"""
POLL_S = 0.002


def ready_times(log: Path) -> list[float]:
    """The Unix times of the `ready` lines so far."""
    times = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("message") == "ready":
                times.append(datetime.fromisoformat(record["time"]).timestamp())
    return times


def wait_ready(dev: Child, count: int, timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = ready_times(dev.stderr_path)
        if len(found) >= count:
            return found[count - 1]
        if dev.popen.poll() is not None:
            raise BenchError(f"worker dev exited {dev.popen.returncode}: {dev.tail()}")
        time.sleep(POLL_S)
    raise BenchError(f"no ready #{count} within {timeout:.0f} s: {dev.tail()}")


def measure(saves: int, workdir: Path) -> list[float]:
    """Seconds from each save to the next `ready`."""
    redis_server, url = start_redis(workdir / "redis")
    app = workdir / "mymod.py"
    app.write_text(APP.format(every=3600))
    env = clean_env(REDIS_URL=url, LOG_FORMAT="json", HEARTBEAT_FILE=str(workdir / "hb"))
    argv = [sys.executable, "-m", "worker", "dev", "--app", "mymod:Container"]
    dev = Child("worker-dev", argv, env, workdir)
    try:
        wait_ready(dev, 1)
        seconds = []
        for save in range(1, saves + 1):
            saved_at = time.time()
            app.write_text(APP.format(every=3600 + save))
            seconds.append(wait_ready(dev, save + 1) - saved_at)
        return seconds
    finally:
        dev.close()
        redis_server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reload", description=__doc__)
    parser.add_argument("--saves", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-reload-") as workdir:
        seconds = measure(args.saves, Path(workdir))
    for index, value in enumerate(seconds, 1):
        print(f"save {index}: {value * 1000:.0f} ms to ready")
    print(
        f"save → ready over {len(seconds)} saves: p50 {statistics.median(seconds) * 1000:.0f} ms, "
        f"min {min(seconds) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
