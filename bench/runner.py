"""One benchmark run: redis, warm-up, measured spawns, one shared window, SIGTERM, results.

All three programs run side by side for the whole window, so machine drift hits them alike.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from bench.messages import MessageLog
from bench.procs import Child, Exit, clean_env, start_redis
from bench.programs import ROOT, Program, programs
from bench.results import Cycle, RunResult, Window, describe_run, program_result


@dataclass(frozen=True)
class Options:
    fires: int
    idle_seconds: float
    rss_after: float
    progress_every: float
    logs: Path
    warm_up: bool = True
    extra_cycles: int = 4
    ready_timeout: float = 30.0
    exit_timeout: float = 45.0
    baseline: Path | None = None
    """Another tree whose worker runs beside this one's (before and after in one run)."""

    def settings(self) -> dict[str, Any]:
        """What the report states about how the run was made."""
        return {
            "fires": self.fires,
            "idle_seconds": self.idle_seconds,
            "rss_after_s": self.rss_after,
            "warm_up": self.warm_up,
            "start_stop_cycles": self.extra_cycles + 1,
            "baseline_tree": None if self.baseline is None else str(self.baseline),
        }


@dataclass(frozen=True)
class Started:
    program: Program
    child: Child
    ready_s: float


def say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def next_half_second() -> float:
    """The next x.5 s of the wall clock: far from every fire, so samples never race one."""
    return math.floor(time.time() + 0.5) + 0.5


def run(options: Options) -> RunResult:
    shutil.rmtree(options.logs, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, contextlib.ExitStack() as cleanup:
        redis_child, url = start_redis(Path(tmp) / "redis")
        cleanup.callback(redis_child.close)
        say(f"redis-server at {url}")
        specs = programs(url, Path(tmp), options.baseline)
        log = MessageLog(options.logs / "messages.jsonl")
        subscriber = _subscriber(url, specs, options, cleanup)
        cycles = _start_stop_cycles(specs, log, options, cleanup)
        redis.Redis.from_url(url).flushall()
        started = [_spawn(spec, options.logs / "run", options, cleanup) for spec in specs]
        first = _first_messages(started, log, timeout=5.0)
        window = _window(started, log, options)
        for item in started:
            name = item.program.name
            exit_ = _stop(item.child, options)
            cycles[name].append(Cycle(item.ready_s, first[name], exit_))
        time.sleep(0.3)  # anything still in flight reaches the subscriber
        subscriber.terminate(timeout=5)
        log.refresh()
        results = {
            spec.name: program_result(spec.name, cycles[spec.name], log.of(spec.channel), window)
            for spec in specs
        }
        return RunResult(describe_run(url, options.settings(), window), results, log.invalid)


def _start(spec: Program, logdir: Path, cleanup: contextlib.ExitStack) -> Child:
    child = Child(spec.name, spec.argv, spec.env, logdir)
    cleanup.callback(child.close)
    return child


def _start_stop_cycles(
    specs: list[Program], log: MessageLog, options: Options, cleanup: contextlib.ExitStack
) -> dict[str, list[Cycle]]:
    """Start and stop each program alone, in turn, a few times: one start is too noisy to judge.

    A first unmeasured round warms the page cache and the .pyc files for every later start.
    """
    cycles: dict[str, list[Cycle]] = {spec.name: [] for spec in specs}
    rounds = int(options.warm_up) + options.extra_cycles
    for index in range(rounds):
        measured = index >= int(options.warm_up)
        say(f"start/stop round {index + 1}/{rounds}" + ("" if measured else " (warm-up)"))
        for spec in specs:
            cycle = _cycle(spec, options.logs / f"cycle-{index + 1}", log, options, cleanup)
            if measured:
                cycles[spec.name].append(cycle)
    return cycles


def _cycle(
    spec: Program, logdir: Path, log: MessageLog, options: Options, cleanup: contextlib.ExitStack
) -> Cycle:
    """Spawn, ready, first message, then SIGTERM at the next half second."""
    started = _spawn(spec, logdir, options, cleanup, quiet=True)
    first = _first_messages([started], log, timeout=5.0)[spec.name]
    return Cycle(started.ready_s, first, _stop(started.child, options, quiet=True))


def _subscriber(
    url: str, specs: list[Program], options: Options, cleanup: contextlib.ExitStack
) -> Child:
    path = options.logs / "messages.jsonl"
    argv = [sys.executable, "-m", "bench.subscriber", url, str(path)]
    env = clean_env(PYTHONPATH=str(ROOT))
    spec = Program("subscriber", "", argv + [s.channel for s in specs], env)
    child = _start(spec, options.logs, cleanup)
    child.wait_ready(options.ready_timeout)
    return child


def _spawn(
    spec: Program,
    logdir: Path,
    options: Options,
    cleanup: contextlib.ExitStack,
    quiet: bool = False,
) -> Started:
    """Start one program and wait for its ready line; one at a time so starts do not overlap."""
    child = _start(spec, logdir, cleanup)
    ready_s = child.wait_ready(options.ready_timeout) - child.spawned_at
    if not quiet:
        say(f"{spec.name}: ready {ready_s:.3f} s after spawn")
    return Started(spec, child, ready_s)


def _first_messages(
    started: list[Started], log: MessageLog, timeout: float
) -> dict[str, float | None]:
    """Spawn → first message received, per program (None if none came within `timeout`)."""
    deadline = time.monotonic() + timeout
    first: dict[str, float | None] = {item.program.name: None for item in started}
    while time.monotonic() < deadline and None in first.values():
        log.refresh()
        for item in started:
            message = log.first_after(item.program.channel, item.child.spawned_at)
            if first[item.program.name] is None and message is not None:
                first[item.program.name] = message.received - item.child.spawned_at
        time.sleep(0.01)
    return first


def _window(started: list[Started], log: MessageLog, options: Options) -> Window:
    """Fire collection and the idle CPU window at once, starting at a half second.

    The measured fires are the `fires` whole seconds after the start; every program's first
    fire came before it. RSS/USS are sampled `rss_after` s in and again at the end.
    """
    start = next_half_second()
    first_second = math.ceil(start)
    window = Window(start, range(first_second, first_second + options.fires), options.idle_seconds)
    end = start + max(options.idle_seconds, options.fires, options.rss_after)
    events = [(start + options.rss_after, 0, "memory"), (start + options.idle_seconds, 1, "cpu")]
    ticks = int((end - start) // options.progress_every)
    events += [(start + k * options.progress_every, 2, "progress") for k in range(1, ticks + 1)]
    events.append((end, 3, "end"))
    say(f"measuring: {options.fires} fires, CPU over {options.idle_seconds:g} s")
    sleep_until(start)
    cpu_start = {item.program.name: item.child.cpu_seconds() for item in started}
    for moment, _, what in sorted(events):
        sleep_until(moment)
        if what == "progress":
            _progress(started, log, window.seconds, moment - start, end - start)
        elif what == "cpu":
            for item in started:
                used = item.child.cpu_seconds() - cpu_start[item.program.name]
                window.cpu_s[item.program.name] = used
        else:
            samples = window.memory if what == "memory" else window.memory_end
            samples.update({item.program.name: item.child.memory() for item in started})
    return window


def _progress(
    started: list[Started], log: MessageLog, seconds: range, elapsed: float, total: float
) -> None:
    log.refresh()
    counts = [f"{s.program.name}={log.count_in(s.program.channel, seconds)}" for s in started]
    say(f"{elapsed:.0f}/{total:.0f} s  fires: {' '.join(counts)}")


def _stop(child: Child, options: Options, quiet: bool = False) -> Exit:
    """SIGTERM at a half second (never in the middle of a fire) and time the exit."""
    sleep_until(next_half_second())
    outcome = child.terminate(options.exit_timeout)
    if not quiet or outcome.code != 0:
        say(f"{child.name}: exit {outcome.code} {outcome.seconds * 1000:.1f} ms after SIGTERM")
    return outcome
