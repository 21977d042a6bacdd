"""The one run wrapper every fire goes through.

It decides what a fire becomes (run, folded into a running run, missed), asks the gate,
runs the method within its time limit, and turns the result into one log line and one
record that every listener receives. It owns every in-flight run and drains them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from loguru import logger

from worker.concurrency import call_method, cancel_and_wait, wait_for_all
from worker.connect.errors import describe_error
from worker.connect.outage import OutageMonitor
from worker.protocol import format_instant, new_token
from worker.run.fire import Fire, set_current_fire
from worker.run.gate import Admission, FireGate
from worker.run.records import RunListener, RunRecord
from worker.run.reports import GateTimeout, RunReports
from worker.run.stuck import StuckAlarm
from worker.schedule.definitions import TaskDefinition
from worker.schedule.shared import NextFires

RUN_TASK_PREFIX = "run:"
"""A run's asyncio task is named this and its task's name (the loop watch reads it)."""
CANCEL_WAIT = 1.0
"""How long cancelled runs get to unwind at the end of a drain, unless told otherwise."""


class _Instants:
    """Where runs handed over ahead of their instant wait for it: one timer per instant
    releases its runs, in the order they came, in one callback (a timer of their own each
    would cost the first of 1,000 runs milliseconds before it starts), so every one of them
    starts before any is recorded."""

    def __init__(self) -> None:
        self._waiting: dict[float, list[asyncio.Future[None]]] = {}

    def reached(self, instant: float) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        waiters = self._waiting.get(instant)
        if waiters is None:
            waiters = self._waiting[instant] = []
            loop.call_at(loop.time() + instant - time.time(), self._release, instant)
        waiters.append(future)
        return future

    def _release(self, instant: float) -> None:
        for future in self._waiting.pop(instant, ()):
            if not future.done():  # a run cancelled while it waited
                future.set_result(None)


@dataclass(slots=True)
class _ActiveRun:
    fire: Fire
    task: asyncio.Task[RunRecord]
    started_at: datetime


class Runner:
    """Owns every in-flight run; at most one per task, newer fires fold into it."""

    def __init__(
        self,
        *,
        instance_id: str,
        misfire_grace: float,
        outage: OutageMonitor,
        listeners: Sequence[RunListener],
        gate: FireGate,
        admit_timeout: float,
        next_fires: NextFires | None = None,
    ) -> None:
        self._misfire_grace = misfire_grace
        self._reports = RunReports(instance_id, listeners, outage)
        self._gate = gate
        self._admit_timeout = admit_timeout
        self._stuck = StuckAlarm(tuple(listeners), next_fires or NextFires())
        self._tasks: dict[str, tuple[TaskDefinition, Callable[[], Any]]] = {}
        self._active: dict[str, _ActiveRun] = {}
        self._instants = _Instants()
        self._handed: dict[str, datetime] = {}
        """The newest instant the scheduler handed over, by task."""
        self._accepting = True

    def add(self, definition: TaskDefinition, method: Callable[[], Any]) -> None:
        self._tasks[definition.name] = (definition, method)

    def remove(self, name: str) -> None:
        self._tasks.pop(name, None)  # what it handed over stays known: it may be mounted anew

    def consecutive_failures(self, name: str) -> int:
        return self._reports.consecutive_failures(name)

    @property
    def accepting(self) -> bool:
        """False once the drain has begun: no new run starts."""
        return self._accepting

    def definition(self, name: str) -> TaskDefinition | None:
        entry = self._tasks.get(name)
        return None if entry is None else entry[0]

    def running(self, name: str) -> bool:
        return name in self._active

    def running_since(self) -> dict[str, str]:
        """Start time of each run in flight, by task (the instance record carries it)."""
        return {
            name: format_instant(active.started_at, precise=True)
            for name, active in self._active.items()
        }

    def submit(
        self, name: str, run_times: Sequence[datetime], *, grace: bool = True
    ) -> asyncio.Task[RunRecord] | None:
        """Hand over the due instants of one task (oldest first); returns a started run.

        `grace=False` (a run asked for now) skips the MISFIRE_GRACE check.
        """
        if grace:  # the scheduler's: an instant handed over already is not taken again
            # (a pause and resume, or a task mounted anew, within the lead would hand the
            # fire just handed over ahead over once more)
            handed = self._handed.get(name)
            if handed is not None:
                run_times = [t for t in run_times if t > handed]
            if run_times:
                self._handed[name] = run_times[-1]
        return self._submit(name, run_times, grace)

    def _submit(
        self, name: str, run_times: Sequence[datetime], grace: bool
    ) -> asyncio.Task[RunRecord] | None:
        entry = self._tasks.get(name)
        if entry is None or not self._accepting or not run_times:
            return None
        definition, method = entry
        now = datetime.now(UTC)
        limit = self._misfire_grace if grace else float("inf")
        due = [t for t in run_times if (now - t).total_seconds() <= limit]
        if late := len(run_times) - len(due):
            late_s = (now - run_times[late - 1]).total_seconds()
            fire = Fire(name, run_times[late - 1].astimezone(UTC), precise=definition.precise)
            error = f"{late} fire(s) older than MISFIRE_GRACE ({late_s:.1f}s late), not run"
            self._reports.report(fire, "missed", error, missed=late)
        if not due:
            return None
        newest = due[-1].astimezone(UTC)
        active = self._active.get(name)
        ahead = newest.timestamp() - time.time()
        if active is not None and ahead > 0:
            # Handed over ahead of its instant while a run goes on: folded at its instant
            # (a run must not stand for a fire before it is due), or started then.
            asyncio.get_running_loop().call_later(ahead, self._submit, name, due, grace)
            return None
        if active is not None and active.fire.claim_lost:
            # Another replica holds the claim now and folds the newer fire (or the next
            # claim's winner counts it in `missed`): folded here too, it would run twice.
            return None
        if active is not None:
            active.fire.fold(newest, len(due))
            into = active.fire
            error = (
                f"previous run still going, folded into it (now {into.id}, missed={into.missed})"
            )
            self._reports.report(Fire(name, newest, precise=definition.precise), "skipped", error)
            return None
        fire = Fire(name, newest, missed=len(due) - 1, precise=definition.precise)
        fire.oldest = due[0].astimezone(UTC)
        return self._start(definition, method, fire)

    def _start(
        self, definition: TaskDefinition, method: Callable[[], Any], fire: Fire
    ) -> asyncio.Task[RunRecord]:
        # The instant the run starts for: a fold may move `fire` on before the task begins.
        instant = fire.scheduled_for.timestamp()
        run = self._execute(definition, method, fire, instant)
        task = asyncio.create_task(run, name=f"{RUN_TASK_PREFIX}{fire.task}")
        started_at = max(datetime.now(UTC), fire.scheduled_for.astimezone(UTC))
        self._active[fire.task] = _ActiveRun(fire, task, started_at)
        return task

    def run_now(self, name: str) -> asyncio.Task[RunRecord] | None:
        return self.submit(name, [datetime.now(UTC)], grace=False)

    def start_fire(self, fire: Fire) -> asyncio.Task[RunRecord] | None:
        """Run a fire made elsewhere (a manual or a recovered one); folds into a running run."""
        entry = self._tasks.get(fire.task)
        if entry is None or not self._accepting:
            return None
        active = self._active.get(fire.task)
        if active is not None:
            active.fire.fold(fire.scheduled_for)
            error = f"previous run still going, folded into it (now {active.fire.id})"
            self._reports.report(fire, "skipped", error)
            return None
        return self._start(*entry, fire)

    def abandon(self, fire: Fire, error: str) -> None:
        """A fire the fleet gave up on (recovered too often): its record, `abandoned`."""
        self._reports.report(fire, "abandoned", error, missed=fire.missed)

    def run_manual(self, name: str, token: str | None = None) -> asyncio.Task[RunRecord] | None:
        """A run asked for by hand: a manual fire id (worker.protocol), claimed like any fire."""
        entry = self._tasks.get(name)
        if entry is None:
            return None
        fire = Fire(name, datetime.now(UTC), precise=entry[0].precise, manual=token or new_token())
        return self.start_fire(fire)

    async def drain(
        self,
        timeout: float,
        force: asyncio.Event | None = None,
        cancel_wait: Callable[[], float] = lambda: CANCEL_WAIT,
    ) -> int:
        """Stop accepting fires, wait up to `timeout` for runs, cancel the rest; return how many.

        `force` set (a second signal) cancels at once; cancelled runs get `cancel_wait()`
        seconds to unwind and be recorded.
        """
        self._accepting = False
        pending: set[asyncio.Future[Any]] = {active.task for active in self._active.values()}
        if not pending:
            return 0
        logger.bind(runs=len(pending)).info("waiting for runs in flight")
        pending = await wait_for_all(pending, timeout, force)
        if not pending:
            return 0
        logger.bind(runs=len(pending)).warning("cancelling runs in flight")
        await cancel_and_wait(pending, timeout=cancel_wait())
        return len(pending)

    async def _execute(
        self, definition: TaskDefinition, method: Callable[[], Any], fire: Fire, instant: float
    ) -> RunRecord:
        set_current_fire(fire)
        loop = asyncio.get_running_loop()
        ahead = max(instant - time.time(), 0.0)  # handed over ahead of its instant
        started, clock = time.time() + ahead, time.perf_counter() + ahead
        outcome, error = "ok", None
        exc_info: BaseException | None = None
        # From the fire's instant (a fire handed over ahead of it) or from now.
        limit = asyncio.timeout_at(
            loop.time() + ahead + definition.time_limit if definition.time_limit else None
        )
        watch = None
        admission = Admission(run=False)
        returned: float | None = None  # when the method returned
        try:
            async with limit:  # the admission counts against the time limit too
                admission = await self._admit(definition, fire)
                if admission.failures is not None:  # a claim: the fleet-wide streak
                    self._reports.continue_streak(definition.name, admission.failures)
                if not admission.run:
                    outcome, error = "skipped", admission.reason
                else:  # stuck counts from here: a claim waiting out an outage is not stuck
                    if instant > time.time():  # claimed ahead: on the instant
                        await self._instants.reached(instant)
                        started, clock = time.time(), time.perf_counter()
                    watch = self._stuck.arm(definition, fire)
                    await call_method(method, is_async=definition.is_async)
                    returned = time.perf_counter()
                    # Runs due at the same instant start before this one is recorded.
                    await asyncio.sleep(0)
        except asyncio.CancelledError:
            if returned is None:
                outcome, error = "cancelled", "cancelled at shutdown"
            raise
        except TimeoutError as exc:
            if returned is not None:
                pass  # the limit ran out after the method had returned
            elif limit.expired():
                outcome, error = "timeout", f"time limit of {definition.time_limit:g}s exceeded"
            else:
                outcome, error, exc_info = "failed", describe_error(exc), exc
        except GeneratorExit as exc:  # the coroutine closed under it: recorded, and let go
            outcome, error, exc_info = "failed", describe_error(exc), exc
            raise
        except BaseException as exc:  # SystemExit, KeyboardInterrupt too: only signals stop us
            outcome, error, exc_info = "failed", describe_error(exc), exc
        finally:
            if watch is not None:
                watch.cancel()
            self._active.pop(definition.name, None)
            record = self._reports.record(
                fire,
                outcome,
                error,
                started=started,
                duration_ms=round(max((returned or time.perf_counter()) - clock, 0.0) * 1000, 3),
                lag_ms=round(max(started - instant, 0.0) * 1000, 3),  # a clock behind: 0
            )
            if outcome == "skipped" and error is None:  # another replica has this fire
                logger.bind(task=fire.task, fire=fire.id).debug("fire claimed elsewhere")
            else:
                record = self._reports.finish(record, exc_info, admission.quiet)
            if admission.finished is not None:
                admission.finished(record)
        return record

    async def _admit(self, definition: TaskDefinition, fire: Fire) -> Admission:
        # A gate that waits out outages itself (the claim) folds newer fires meanwhile.
        patient = self._gate.waits_out_outages
        try:
            async with asyncio.timeout(None if patient else self._admit_timeout):
                return await self._gate.admit(definition, fire)
        except TimeoutError:
            raise GateTimeout(f"fire gate gave no answer within {self._admit_timeout:g}s") from None
