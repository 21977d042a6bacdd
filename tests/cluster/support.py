"""Helpers of the fleet tests: N real worker processes on one redis-server, and what their
probes (tests/apps/fleet.py) write, counted by second."""

from __future__ import annotations

import glob
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from tests.support import (
    WorkerProcess,
    run_records,
    texts,
)

Spawn = Callable[..., WorkerProcess]
APP = ("--app", "tests.apps.fleet:Container")
EVERY_SECOND = "* * * * * *"
LIBFAKETIME = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))


def start_fleet(
    spawn: Spawn,
    tmp_path: Path,
    count: int,
    *,
    first: int = 1,
    redis_url: str | None = None,
    **env: str,
) -> list[WorkerProcess]:
    """`count` replicas r<first>… with their own heartbeat files, each `ready`."""
    env.setdefault("LOG_LEVEL", "INFO")
    env.setdefault("HEARTBEAT_INTERVAL", "1")
    workers = [
        spawn(
            *APP,
            redis=redis_url,
            HEARTBEAT_FILE=str(tmp_path / f"r{i}.heartbeat"),
            WORKER_INSTANCE_ID=f"r{i}",
            **env,
        )
        for i in range(first, first + count)
    ]
    for worker in workers:
        worker.wait_for_log(" ready ")
    return workers


def entries(client: redis.Redis, task: str, event: str = "start") -> list[list[str]]:
    """The probe's entries: [fire id, instance, recovered, missed]."""
    return [entry.split("|") for entry in texts(client.lrange(f"fleet:{task}:{event}", 0, -1))]


def journal(folder: Path, task: str, event: str = "start") -> list[list[str]]:
    """The probes' entries as every replica wrote them to FLEET_JOURNAL, oldest fire first."""
    found = [
        line.split("|")
        for path in sorted(folder.glob(f"*.{task}.{event}"))
        for line in path.read_text().splitlines()
    ]
    return sorted(found, key=lambda entry: second_of(entry[0]))


def assert_no_second_twice(ticks: list[list[str]]) -> None:
    """No fire started twice, and no second is counted twice by the runs started (a
    fire's second and the seconds its `missed` stands for)."""
    ids = [tick[0] for tick in ticks]
    assert len(ids) == len(set(ids)), f"a fire ran twice: {sorted(ids)}"
    counted = Counter(second_of(tick[0]) - k for tick in ticks for k in range(int(tick[3]) + 1))
    twice = sorted(second for second, times in counted.items() if times > 1)
    assert not twice, f"a second counted twice by the runs started: {twice}"


def second_of(fire_id: str) -> int:
    stamp = fire_id.split(":", 1)[1]
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def assert_each_second_once(
    client: redis.Redis, ticks: list[list[str]], outcomes: tuple[str, ...] = ("ok",)
) -> None:
    """No fire ran twice; every second between the first and last ran or was counted in
    the `missed` of the run after it (a replica joining with its clock ahead skips ahead).

    A probe's entry names the fire its run started with; a fire due while that run is
    still going folds into it after the entry is written (DESIGN "Overlap"), so the
    seconds counted come from the run history's records too (those with `outcomes`), which
    name the fire a run ended with and its `missed`."""
    ids = [tick[0] for tick in ticks]
    assert len(ids) == len(set(ids)), f"a fire ran twice: {sorted(ids)}"
    runs = [
        (run["fire_id"], int(run["missed"]))
        for run in run_records(client, "worker:runs:fleet-tick")
        if run["outcome"] in outcomes and ":manual:" not in run["fire_id"]
    ]
    ended = [fire for fire, _ in runs]
    assert len(ended) == len(set(ended)), f"a fire ended twice: {sorted(ended)}"
    started = [(tick[0], int(tick[3])) for tick in ticks]
    for name, source in (("started", started), ("ended", runs)):
        counted = Counter(second_of(fire) - k for fire, missed in source for k in range(missed + 1))
        twice = sorted(second for second, times in counted.items() if times > 1)
        assert not twice, f"a second counted twice by the runs {name}: {twice}"
    covered = sorted(
        {second_of(fire) - k for fire, missed in started + runs for k in range(missed + 1)}
    )
    assert covered == list(range(covered[0], covered[-1] + 1)), f"a second was lost: {covered}"


def fleet_joined(client: redis.Redis, count: int) -> bool:
    found: Any = client.pubsub_numsub("worker:control")
    return bool(found) and int(found[0][1]) >= count


def a_cron_soon(lead: int = 3) -> str:
    """A six-field cron firing once a minute, `lead` seconds from now."""
    return f"{(datetime.now(UTC).second + lead) % 60} * * * * *"
