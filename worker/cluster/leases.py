"""Leases held by this replica: renewed by a thread of their own, ended when recorded.

The renewals run on a thread with its own Redis connection, so a task that blocks the
event loop (a `time.sleep`, a CPU-bound loop, a synchronous driver) cannot make the fleet
think this replica dead: a fire is not run again while its claimer lives. A lease is renewed
for as long as its run may go on (its time limit, else the stuck threshold: STUCK_GAPS gaps
to the task's next fire); past that it is left to run out, and recovery elsewhere takes the
fire over (at most CLAIM_MAX_RECOVERIES times).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from loguru import logger

from worker.cluster.claims import ClaimStore
from worker.cluster.replies import ClaimRequest, LeaseEnd
from worker.connect.errors import describe_error, is_redis_outage
from worker.run.stuck import stuck_after
from worker.schedule.definitions import TaskDefinition
from worker.schedule.shared import NextFires

BATCH = 2000
"""Lease ends per script call at most."""
RETRY_AFTER = 1.0
"""Seconds before a failed renewal is tried again (at most a third of the lease)."""
_UNKNOWN = -1.0


@dataclass(slots=True)
class _Held:
    request: ClaimRequest
    definition: TaskDefinition
    scheduled_for: datetime
    lost: Callable[[], None]
    since: float = field(default_factory=time.monotonic)
    allowed: float | None = _UNKNOWN
    """Seconds its run may go on (None: for ever); worked out on the thread, when needed."""


class Leases:
    """Renewals and ends, both on the keeper thread: a run's end reaches Redis at once even
    when another task holds the loop right after it (a lease left undone would run out and
    its fire be folded into the next as if it had never ended)."""

    def __init__(
        self,
        store: ClaimStore,
        lease: float,
        stalls: Callable[[str, float], float] | None = None,
    ) -> None:
        self._stalls = stalls
        self._store = store
        self._every = lease / 3
        self._lease = lease
        self._held: dict[str, _Held] = {}
        self._due = 0.0
        """When the next renewal call is due (while leases are held)."""
        self._wakes_at = -math.inf
        """When the waiting keeper wakes by itself (inf: not before it is notified; -inf: it
        is not waiting, and looks for work before it waits again)."""
        self._lock = threading.Condition()
        self._keeper: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop
        self._closing = False
        self._dropping = False
        self._ending: list[LeaseEnd] = []
        self._finishing: Counter[str] = Counter()
        """Lease ends not yet taken by Redis, by task."""
        self._ended: asyncio.Event | None = None
        """Set (on the loop) when the keeper has taken ends to Redis."""
        self._ends_failing = False
        """The last end call failed (Redis away): a claim does not wait for ends then."""

    def hold(
        self,
        request: ClaimRequest,
        definition: TaskDefinition,
        scheduled_for: datetime,
        lost: Callable[[], None],
    ) -> None:
        """Renew `request`'s lease until it ends; `lost` is called on the loop when another
        replica has its fire (or the lease was left to run out)."""
        with self._lock:
            if not self._held:  # the first renewal a third of the lease after this hold
                self._due = time.monotonic() + self._every
            self._held[request.task] = _Held(request, definition, scheduled_for, lost)
            if self._keeper is None or self._wakes_at > self._due:
                self._wake()  # else it wakes in time by itself: no thread switch per claim

    def holds(self, task: str) -> bool:
        """A lease of `task` is held here, or its end is on the way to Redis."""
        return task in self._held or self._finishing[task] > 0

    async def settled(self, task: str) -> None:
        """Until this replica's ends of `task` have reached Redis, at most a lease: a claim
        sent before would find its own finished run's lease still live. Not while ends fail
        (an outage: the claim fails too, and retries)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lease
        while (
            self._finishing[task] > 0
            and not self._ends_failing
            and (left := deadline - loop.time()) > 0
        ):
            if self._ended is None:
                self._ended = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ended.wait(), left)

    def _taken(self) -> None:
        """(On the loop.) Ends reached Redis: whoever waits in `settled` looks again."""
        if self._ended is not None:
            self._ended.set()
            self._ended = None

    def end(self, request: ClaimRequest, outcome: str, newest: tuple[int, str] | None) -> None:
        """The run is recorded: its lease ends from the keeper thread (a run never waits on
        it). Ends queued while a call is out go together in the next one."""
        with self._lock:
            held = self._held.get(request.task)
            if held is not None and held.request is request:
                del self._held[request.task]
            self._ending.append(LeaseEnd(request, outcome, newest))
            self._finishing[request.task] += 1
            self._wake()

    async def close(self, timeout: float) -> None:
        """Ends get what is left of `timeout`; renewals stop (leases then run out)."""
        with self._lock:
            self._closing = True
            self._lock.notify()
        keeper = self._keeper
        if keeper is not None:
            await asyncio.to_thread(keeper.join, max(timeout, 0.01))
            with self._lock:  # what is still queued is let go: it runs out by itself
                self._dropping = True
                self._lock.notify()

    def _wake(self) -> None:
        """(Under the lock.) The keeper has work: started on first need, else notified."""
        if self._keeper is None and not self._closing:
            self._loop = asyncio.get_running_loop()
            self._keeper = threading.Thread(target=self._keep, daemon=True)
            self._keeper.name = "lease-keeper"
            self._keeper.start()
        self._lock.notify()

    def _keep(self) -> None:
        """The keeper thread: ends as soon as they come; every third of the lease, one
        renewal call for every lease held; after a failed call, again within RETRY_AFTER
        (a failover shorter than what is left of the lease then costs no recovery)."""
        next_fires = NextFires()  # the thread's own: nothing shared with the loop
        retry_at, give_up = 0.0, float("inf")
        try:
            while True:
                with self._lock:
                    ends, held = self._next_work(retry_at)
                    if ends is None:
                        return
                try:
                    if ends:
                        retry_at, give_up = self._end(ends, give_up)
                    if held is not None:
                        kept = [h for h in held if self._renewing(h, next_fires)]
                        self._next_renewal(self._renew(kept))
                except Exception as exc:  # the thread must go on: every lease rests on it
                    logger.opt(exception=exc).error("claim leases not renewed")
                    self._next_renewal(min(RETRY_AFTER, self._every))
        finally:
            self._store.close_blocking()

    def _next_renewal(self, pause: float) -> None:
        with self._lock:
            self._due = time.monotonic() + pause

    def _next_work(self, retry_at: float) -> tuple[list[LeaseEnd] | None, list[_Held] | None]:
        """(Under the lock.) Wait for ends to send or renewals due: (ends, held or None);
        ends None: the keeper is done (closed with nothing left to end). With no lease held
        and no end to retry it sleeps until notified."""
        while True:
            now = time.monotonic()
            if self._dropping or (self._closing and not self._ending):
                if self._ending:
                    logger.bind(leases=len(self._ending)).warning(
                        "claim leases not ended: they run out by themselves"
                    )
                return None, None
            ends = self._ending[:BATCH] if self._ending and now >= retry_at else []
            renew = bool(self._held) and now >= self._due and not self._closing
            if ends or renew:
                del self._ending[: len(ends)]
                return ends, list(self._held.values()) if renew else None
            waits = [self._due - now] if self._held and not self._closing else []
            if self._ending:
                waits.append(retry_at - now)
            timeout = min(waits) if waits else None
            self._wakes_at = math.inf if timeout is None else now + timeout
            try:
                self._lock.wait(timeout)
            finally:
                self._wakes_at = -math.inf

    def _end(self, ends: list[LeaseEnd], give_up: float) -> tuple[float, float]:
        """One end call; when to try again what failed (and until when)."""
        try:
            self._store.finish_blocking(ends)
        except Exception as exc:
            now = time.monotonic()
            if give_up == float("inf"):
                give_up = now + max(self._lease * 3, 30.0)
            if is_redis_outage(exc) and now < give_up:
                with self._lock:
                    self._ending[:0] = ends
                self._ends_failing = True
                self._tell(self._taken)  # whoever waits for them: not any longer
                return now + RETRY_AFTER, give_up
            logger.bind(leases=len(ends), error=describe_error(exc)).warning(
                "claim leases not ended: they run out by themselves"
            )
        with self._lock:
            self._finishing.subtract(end.request.task for end in ends)
            self._finishing += Counter()  # drops the tasks at zero
        self._ends_failing = False
        self._tell(self._taken)
        return 0.0, float("inf")

    def _renewing(self, held: _Held, next_fires: NextFires) -> bool:
        """Whether `held`'s run may still go on; past that its lease is let go. The time
        another task held the loop does not count against it (it could not run)."""
        if held.allowed == _UNKNOWN:
            held.allowed = _allowance(held, next_fires)
        if held.allowed is None:
            return True
        went_on = time.monotonic() - held.since
        if went_on < held.allowed:
            return True
        if self._stalls is not None:
            went_on -= self._stalls(held.request.task, held.since)
            if went_on < held.allowed:
                return True
        if self._drop(held):
            request = held.request
            logger.bind(task=request.task, fire=request.fire_id, after_s=held.allowed).warning(
                "claim lease left to run out: the run went past its time limit or the stuck "
                "threshold, so recovery may run the fire elsewhere"
            )
            self._tell(held.lost)
        return False

    def _renew(self, held: list[_Held]) -> float:
        """One renewal call; the pause before the next."""
        if not held:
            return self._every
        try:
            kept = self._store.renew_blocking([(h.request.task, h.request.fire_id) for h in held])
        except Exception as exc:
            if not is_redis_outage(exc):
                logger.opt(exception=exc).error("claim leases not renewed")
            else:
                logger.bind(error=describe_error(exc)).debug("claim leases not renewed")
            return min(RETRY_AFTER, self._every)
        for entry, ok in zip(held, kept, strict=True):
            if not ok and self._drop(entry):
                logger.bind(task=entry.request.task, fire=entry.request.fire_id).warning(
                    "claim lease lost: the fire was taken over or ended elsewhere"
                )
                self._tell(entry.lost)
        return self._every

    def _tell(self, callback: Callable[[], None]) -> None:
        """(The keeper.) Run `callback` on the loop; not at all once the loop is closed."""
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(callback)

    def _drop(self, held: _Held) -> bool:
        """Stop renewing `held` (False: its run had ended meanwhile)."""
        with self._lock:
            if self._held.get(held.request.task) is not held:
                return False
            del self._held[held.request.task]
            return True


def _allowance(held: _Held, next_fires: NextFires) -> float | None:
    """How long a run may go on: a manual fire without a time limit, as long as it runs (its
    instant is off the schedule's grid, so the gaps would say nothing)."""
    definition = held.definition
    if held.request.manual is not None and not definition.time_limit:
        return None
    return stuck_after(definition, held.scheduled_for, next_fires)
