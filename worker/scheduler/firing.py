# Private APScheduler 3.11 names, here only: no public hook starts due runs before bookkeeping.
"""APScheduler's AsyncIOScheduler, except that an instant's runs start before its bookkeeping.

APScheduler 3 works out every due job's next fire before the loop can start any run, so
with 1,000 tasks due at one instant the first run waits for 1,000 computations. Here a
round goes in steps, each one loop callback: due jobs are handed over CHUNK at a time (the
loop starts their runs in between), then their next fires are computed, CHUNK at a time;
only then is the timer set for the next round.

A job handed over with its one fire `t` must have no other fire due: a *fresh* job
(`now - t` under its horizon: a second for cron, whose fires are distinct whole seconds;
the interval for intervals) cannot have one. Any other job goes APScheduler's way: all its
due fires at once, its next fire computed there and then. Until a round is over its jobs
still show the fire just handed over, so anything else that processes jobs (the wakeup
after an add) first finishes the round: no fire is handed over twice or lost. A job removed,
paused or replaced during a round keeps that change.

An instant is handed over ahead of it: the runner claims the fire and sets its run up
meanwhile, and the run waits for its instant, so the claim's round trip and the bookkeeping
are off the path to the method. How far ahead: LEAD, plus PER_FIRE for each job due at
that instant (1,000 claims and runs take a while to set up), at most MAX_LEAD and at most
`lead_cap`, which whoever adds the jobs keeps under every job's horizon, so a hand-over
never holds two fires of one job. Due means due within that lead.

The executor (the runner) decides what each fire becomes; nothing else here counts fires.
Scheduler events for submissions are not dispatched (nothing here listens to them).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from threading import TIMEOUT_MAX
from typing import Any

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_STOPPED

CHUNK = 50
"""Jobs handed over (or settled) per loop callback."""
LEAD = timedelta(milliseconds=200)
"""How far ahead of its instant a fire is handed over to the runner, which claims it and
sets its run up meanwhile: the run starts on the instant."""
PER_FIRE = timedelta(microseconds=300)
"""More lead per job due at one instant (a claim and a run set up each, on every replica)."""
MAX_LEAD = timedelta(milliseconds=500)


@dataclass(slots=True)
class _Round:
    """The jobs due at `now`: those not yet handed over, then those whose next fire is owed."""

    now: datetime
    loop: asyncio.AbstractEventLoop  # the scheduler lets go of its loop when shut down
    due: deque[tuple[str, Any]]
    owed: deque[tuple[str, Any, datetime]]


class PromptScheduler(AsyncIOScheduler):  # type: ignore[misc]
    """Hands each due instant over first and works out next fires after (memory job stores)."""

    def __init__(self, horizon: Callable[[str], timedelta], **options: Any) -> None:
        super().__init__(**options)
        self._horizon = horizon
        self.lead_cap = timedelta(0)
        """The most lead a hand-over may take: half the shortest horizon of the jobs (set
        before they are added; none until then)."""
        self._ahead = timedelta(0)
        """The lead of the next round (more jobs due at its instant, more lead)."""
        self._round: _Round | None = None

    def settle(self) -> None:
        """Finish the round in progress at once (then every job shows its real next fire)."""
        round_ = self._round
        if round_ is None:
            return
        # Each job handed over owes its next fire too: both counts, or some stay owed, and
        # the next round hands their fire over again.
        self._advance(round_, 2 * len(round_.due) + len(round_.owed))
        self._round = None
        if self.state != STATE_STOPPED:
            self._start_timer(self._wait())

    def _process_jobs(self) -> float | None:
        self.settle()
        stores = self._jobstores.values()
        if self.state == STATE_PAUSED or not all(isinstance(s, MemoryJobStore) for s in stores):
            return super()._process_jobs()  # type: ignore[no-any-return]
        now = datetime.now(self.timezone) + self._ahead
        with self._jobstores_lock:
            due = deque((a, j) for a, s in self._jobstores.items() for j in s.get_due_jobs(now))
        if not due:
            return self._wait()
        self._round = round_ = _Round(now, self._eventloop, due, deque())
        return self._wait() if self._step(round_) else None

    def _step(self, round_: _Round) -> bool:
        """One chunk of the round; True when it is over (the caller sets the timer)."""
        self._advance(round_, CHUNK)
        if round_.due or round_.owed:
            round_.loop.call_soon(self._next_step, round_)
            return False
        self._round = None
        return True

    def _next_step(self, round_: _Round) -> None:
        if self._round is round_ and self._step(round_) and self.state != STATE_STOPPED:
            self._start_timer(self._wait())

    def _advance(self, round_: _Round, budget: int) -> None:
        with self._jobstores_lock:
            while budget > 0 and round_.due:
                budget -= 1
                self._hand_over(round_, *round_.due.popleft())
            while budget > 0 and round_.owed and not round_.due:
                budget -= 1
                alias, job, fire = round_.owed.popleft()
                if self._unchanged(alias, job, fire):
                    self._reschedule(alias, job, fire, round_.now)

    def _hand_over(self, round_: _Round, alias: str, job: Any) -> None:
        fire: datetime | None = job.next_run_time
        if fire is None or fire > round_.now or not self._unchanged(alias, job, fire):
            return  # paused, removed or replaced since the round began
        if round_.now - fire < self._horizon(job.id):
            self._submit(job, [fire])
            round_.owed.append((alias, job, fire))
            return
        run_times: list[datetime] = job._get_run_times(round_.now)
        self._submit(job, run_times)
        self._reschedule(alias, job, run_times[-1], round_.now)

    def _unchanged(self, alias: str, job: Any, fire: datetime) -> bool:
        return self._jobstores[alias].lookup_job(job.id) is job and job.next_run_time == fire

    def _submit(self, job: Any, run_times: list[datetime]) -> None:
        try:
            self._lookup_executor(job.executor).submit_job(job, run_times)
        except Exception:
            self._logger.exception('Error submitting job "%s" to its executor', job)

    def _reschedule(self, alias: str, job: Any, last: datetime, now: datetime) -> None:
        following = job.trigger.get_next_fire_time(last, now)
        if following:
            job._modify(next_run_time=following)
            self._jobstores[alias].update_job(job)
        else:
            self.remove_job(job.id, alias)

    def _wait(self) -> float | None:
        """Seconds until the next job is due; None: nothing to wait for (as APScheduler)."""
        if self.state == STATE_PAUSED:
            return None
        times: list[datetime] = [
            t for s in self._jobstores.values() if (t := s.get_next_run_time())
        ]
        if not times:
            return None
        first = min(times)
        self._ahead = min(LEAD + PER_FIRE * self._due_at(first), MAX_LEAD, self.lead_cap)
        ahead = first.timestamp() - self._ahead.total_seconds()
        return min(max(ahead - time.time(), 0.0), TIMEOUT_MAX)

    def _due_at(self, instant: datetime) -> int:
        """How many jobs are due at `instant`, the earliest next fire (memory stores only)."""
        stamp = instant.timestamp()
        count = 0
        for store in self._jobstores.values():
            for _, timestamp in getattr(store, "_jobs", ()):  # sorted by next fire
                if timestamp is None or timestamp > stamp:
                    break
                count += 1
        return count


def prompt_scheduler(
    submit: Callable[[str, Sequence[datetime]], object],
    horizon: Callable[[str], timedelta],
    timezone: tzinfo,
) -> PromptScheduler:
    """The scheduler whose every due instant goes to `submit(task, run_times)` (the runner),
    ahead of it, which decides what it becomes: APScheduler's coalescing, misfire grace and
    max_instances would drop fires silently."""
    from apscheduler.executors.base import BaseExecutor

    class RunnerExecutor(BaseExecutor):  # type: ignore[misc]
        def submit_job(self, job: Any, run_times: Sequence[datetime]) -> None:
            submit(job.id, run_times)

        def _do_submit_job(self, job: Any, run_times: Sequence[datetime]) -> None:
            submit(job.id, run_times)  # abstract in BaseExecutor; submit_job never calls it

    return PromptScheduler(
        horizon,
        timezone=timezone,
        executors={"default": RunnerExecutor()},
        job_defaults={"coalesce": False, "misfire_grace_time": None, "max_instances": 1},
    )
