"""The claim scripts' calls: one command per batch, whatever the number of fires in it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from worker.cluster import scripts
from worker.cluster.replicated import ReplicatedClaims
from worker.cluster.replies import (
    ClaimReply,
    ClaimRequest,
    LeaseEnd,
    Look,
    reply_of,
    taken_over_of,
)
from worker.connect.redis import redis_deadline, text
from worker.protocol import TakenOver
from worker.state.keys import Keys

if TYPE_CHECKING:
    from redis import Redis as SyncRedis
    from redis.asyncio import Redis

EXPIRED_READ = 1000
"""Expired leases a look reads at most (one call): those of tasks this replica's application
lacks are read past, up to this many."""


class ClaimStore:
    """Claims, renewals, finishes and take-overs, each one Lua call on Redis's clock."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        owner: str,
        lease: float,
        skew: float,
        timeout: float,
        thread_client: Callable[..., SyncRedis] | None = None,
        max_recoveries: int = 2,
    ) -> None:
        self._redis = redis
        self._thread_client = thread_client
        self._blocking: SyncRedis | None = None
        self.max_recoveries = max_recoveries
        self._keys = keys
        self.owner = owner
        self._lease_ms = max(int(lease * 1000), 1)
        self._skew_ms = int(skew * 1000)
        self._timeout = timeout
        self._claim = redis.register_script(scripts.CLAIM)
        self._renew = redis.register_script(scripts.RENEW)
        self._finish = redis.register_script(scripts.FINISH)
        self._expired = redis.register_script(scripts.EXPIRED)
        self._take_over = redis.register_script(scripts.TAKE_OVER)
        self._replicated = ReplicatedClaims(redis)
        self._switched = False
        self.schedules = False
        """This replica schedules its tasks (`run`): it folds fires due while its claimed
        run goes on, and records them."""

    def manual_key(self, request: ClaimRequest) -> str:
        if request.manual is None:
            return self._keys.claim(request.task)
        return self._keys.manual_claim(request.manual)

    def _owner_key(self, request: ClaimRequest) -> str:
        if request.manual is None:
            return self._keys.claim(request.task)
        return self._keys.manual_owner(request.manual)

    async def claim(
        self, requests: Sequence[ClaimRequest], *, replicas: int = 0, wait_ms: int = 0
    ) -> tuple[list[ClaimReply], int | None]:
        """Claim every fire of the batch in one call; with `replicas`, WAIT for them (same
        connection, same round trip) and return how many acknowledged."""
        keys: list[str] = [self._keys.leases]
        args: list[Any] = [self.owner, self._lease_ms, self._skew_ms, self._keys.control]
        args.append(int(self.schedules))
        for request in requests:
            keys += [self._keys.claim(request.task), self.manual_key(request)]
            args += [request.at_ms, request.fire_id, int(request.recover)]
            args += [int(request.manual is not None), request.task, int(request.held)]
            args.append(request.ahead_ms)
        async with redis_deadline(self._timeout + wait_ms / 1000 if replicas else self._timeout):
            if replicas:
                raw, acked = await self._replicated.claim(keys, args, replicas, wait_ms)
            else:
                raw, acked = await self._claim(keys=keys, args=args), None
        replies = [reply_of(r) for r in raw]
        return replies, acked

    async def renew(self, held: Sequence[tuple[str, str]]) -> list[bool]:
        """Extend the leases of (task, fire id) held here; False where it was lost."""
        keys, args = self._renewal(held)
        async with redis_deadline(self._timeout):
            raw = await self._renew(keys=keys, args=args)
        return [bool(int(value)) for value in raw]

    def primary_switched(self) -> None:
        """The sentinels announced a new primary (worker.connect.sentinel): claims count its
        replicas anew, renewals reconnect (the old primary takes writes until demoted)."""
        self._replicated.primary_switched()
        self._switched = True

    def renew_blocking(self, held: Sequence[tuple[str, str]]) -> list[bool]:
        """Extend the leases of (task, fire id) held here; False where it was lost. Blocking,
        on a connection of its own: for the lease keeper's thread only."""
        keys, args = self._renewal(held)
        raw = self._blocking_client().register_script(scripts.RENEW)(keys=keys, args=args)
        return [bool(int(value)) for value in raw]

    def _blocking_client(self) -> SyncRedis:
        """The lease keeper's connection: made on first use, remade after a switch."""
        if self._switched and self._blocking is not None:
            self._switched = False
            self._blocking.connection_pool.disconnect()
        if self._blocking is None:
            if self._thread_client is None:
                raise RuntimeError("no thread client: leases cannot be renewed")
            # A reply within a third of the lease, or the next try: one hung renewal must
            # not outlast the lease it renews.
            timeout = min(self._timeout, self._lease_ms / 3000)
            self._blocking = self._thread_client(timeout=timeout)
        return self._blocking

    def _renewal(self, held: Sequence[tuple[str, str]]) -> tuple[list[str], list[Any]]:
        keys = [self._keys.leases, *(self._keys.claim(task) for task, _ in held)]
        args: list[Any] = [self.owner, self._lease_ms]
        for task, fire_id in held:
            args += [fire_id, task]
        return keys, args

    def close_blocking(self) -> None:
        """The keeper's thread is done with its connection."""
        if self._blocking is not None:
            self._blocking.close()
            self._blocking = None

    async def finish(self, ends: Sequence[LeaseEnd]) -> list[bool]:
        """End leases in one call: done, the run's outcome, the mark moved to the newest
        folded fire; False where the claim has moved on to another fire."""
        keys, args = self._ending(ends)
        async with redis_deadline(self._timeout):
            raw = await self._finish(keys=keys, args=args)
        return [bool(int(value)) for value in raw]

    def finish_blocking(self, ends: Sequence[LeaseEnd]) -> list[bool]:
        """`finish` on the lease keeper's connection (its thread only)."""
        keys, args = self._ending(ends)
        raw = self._blocking_client().register_script(scripts.FINISH)(keys=keys, args=args)
        return [bool(int(value)) for value in raw]

    def _ending(self, ends: Sequence[LeaseEnd]) -> tuple[list[str], list[Any]]:
        keys: list[str] = [self._keys.leases]
        args: list[Any] = [self.owner]
        for end in ends:
            request = end.request
            keys += [self._keys.claim(request.task), self.manual_key(request)]
            keys.append(self._owner_key(request))
            at, fire_id = end.newest if end.newest is not None else ("", "")
            args += [request.fire_id, request.task, end.outcome, at, fire_id]
        return keys, args

    async def take_over(
        self, limit: int = 100, *, runs: Callable[[str], bool] | None = None
    ) -> Look:
        """The fires whose claimer's lease ran out, now this replica's (one taker each), and
        the seconds until the next lease deadline. Only tasks `runs` accepts are taken: a
        replica whose application lacks a task (a rolling deploy that adds it, another app
        on the same Redis) leaves its fire to one that has it (`Look.left`)."""
        async with redis_deadline(self._timeout):
            args = [max(limit, EXPIRED_READ) if runs is not None else limit]
            found = [text(t) for t in await self._expired(keys=[self._keys.leases], args=args)]
        until = int(found[-1])
        expired = {found[i]: int(found[i + 1]) / 1000 for i in range(0, len(found) - 1, 2)}
        lacked = {task for task in expired if runs and not runs(task)}
        ours = [task for task in expired if task not in lacked][:limit]
        # Of the tasks lacked here, only dead claimers' fires are left (a finished run's
        # entry waits in the set until its deadline; the script drops it).
        taken, left, abandoned = await self._take(ours, sorted(lacked))
        wait = None if until < 0 else until / 1000
        return Look(taken, wait, {task: expired[task] for task in left}, abandoned)

    async def take_over_tasks(
        self, tasks: Sequence[str]
    ) -> tuple[list[TakenOver], list[TakenOver]]:
        """These tasks' fires whose lease ran out, now this replica's (one taker each), and
        those ended `abandoned` instead."""
        taken, _, abandoned = await self._take(tasks, ())
        return taken, abandoned

    async def _take(
        self, tasks: Sequence[str], looked_at: Sequence[str]
    ) -> tuple[list[TakenOver], list[str], list[TakenOver]]:
        """Take the dead claimers' fires of `tasks`; of `looked_at`, name those left; the
        fires recovered too often already, ended `abandoned`."""
        if not tasks and not looked_at:
            return [], [], []
        marked = [(task, "1") for task in tasks] + [(task, "0") for task in looked_at]
        keys = [self._keys.leases, *(self._keys.claim(task) for task, _ in marked)]
        args: list[Any] = [self.owner, self._lease_ms, self._keys.control, self.max_recoveries]
        for task, take in marked:
            args += [task, take]
        async with redis_deadline(self._timeout):
            raw, left, gone = await self._take_over(keys=keys, args=args)
        taken = [taken_over_of(r) for r in raw]
        return taken, [text(task) for task in left], [taken_over_of(r) for r in gone]

    async def listed_tasks(self) -> set[str] | None:
        """The tasks the live replicas' applications have (their instance records); None
        when a live replica's record does not say (a version before the catalogue)."""
        from worker.state.read import FleetReader

        async with redis_deadline(self._timeout):
            records = await FleetReader(self._redis, self._keys).instances()
        listed: set[str] = set()
        for record in records:
            if "queue_prefix" not in record:  # no catalogue: it may have any task
                return None
            listed.update(record["tasks"])
        return listed
