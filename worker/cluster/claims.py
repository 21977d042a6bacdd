"""The claim scripts' calls: one command per batch, whatever the number of fires in it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from worker.cluster import scripts
from worker.connect.redis import redis_deadline
from worker.state.keys import Keys

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    task: str
    at_ms: int
    fire_id: str
    recover: bool
    manual: str | None


@dataclass(frozen=True, slots=True)
class ClaimReply:
    status: str
    """`won`; or refused: `stale` (not newer than the mark), `busy` (a live lease),
    `early` (beyond CLAIM_SKEW ahead of Redis's clock), `taken` (a manual fire claimed)."""
    previous_mark: int
    owner: str


@dataclass(frozen=True, slots=True)
class TakenOver:
    task: str
    fire_id: str
    at_ms: int
    manual_key: str
    previous_owner: str


class ClaimStore:
    """Claims, renewals, finishes and take-overs, each one Lua call on Redis's clock."""

    def __init__(
        self, redis: Redis, keys: Keys, *, owner: str, lease: float, skew: float, timeout: float
    ) -> None:
        self._redis = redis
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

    def manual_key(self, request: ClaimRequest) -> str:
        if request.manual is None:
            return self._keys.claim(request.task)
        return self._keys.manual_claim(request.manual)

    async def claim(
        self, requests: Sequence[ClaimRequest], *, replicas: int = 0, wait_ms: int = 0
    ) -> tuple[list[ClaimReply], int | None]:
        """Claim every fire of the batch in one call; with `replicas`, WAIT for them (same
        connection, same round trip) and return how many acknowledged."""
        keys: list[str] = [self._keys.leases]
        args: list[Any] = [self.owner, self._lease_ms, self._skew_ms]
        for request in requests:
            keys += [self._keys.claim(request.task), self.manual_key(request)]
            args += [request.at_ms, request.fire_id, int(request.recover)]
            args += [int(request.manual is not None), request.task]
        async with redis_deadline(self._timeout):
            if replicas:
                raw, acked = await self._claim_and_wait(keys, args, replicas, wait_ms)
            else:
                raw, acked = await self._claim(keys=keys, args=args), None
        replies = [ClaimReply(_text(r[0]), int(r[1]), _text(r[2])) for r in raw]
        return replies, acked

    async def _claim_and_wait(
        self, keys: list[str], args: list[Any], replicas: int, wait_ms: int
    ) -> tuple[Any, int]:
        from redis.exceptions import NoScriptError

        for _ in range(2):
            pipe = self._redis.pipeline(transaction=False)
            pipe.execute_command("EVALSHA", self._claim.sha, len(keys), *keys, *args)
            pipe.execute_command("WAIT", replicas, wait_ms)
            replies = await pipe.execute(raise_on_error=False)
            if isinstance(replies[0], NoScriptError):
                await self._redis.script_load(scripts.CLAIM)
                continue
            if isinstance(replies[0], Exception):
                raise replies[0]
            return replies[0], int(replies[1])
        raise NoScriptError("claim script could not be loaded")

    async def renew(self, held: Sequence[tuple[str, str]]) -> list[bool]:
        """Extend the leases of (task, fire id) held here; False where it was lost."""
        keys = [self._keys.leases, *(self._keys.claim(task) for task, _ in held)]
        args: list[Any] = [self.owner, self._lease_ms]
        for task, fire_id in held:
            args += [fire_id, task]
        async with redis_deadline(self._timeout):
            raw = await self._renew(keys=keys, args=args)
        return [bool(int(value)) for value in raw]

    async def finish(
        self,
        request: ClaimRequest,
        outcome: str,
        newest: tuple[int, str] | None,
    ) -> bool:
        """End the lease: done, the run's outcome, the mark moved to the newest folded fire."""
        keys = [self._keys.leases, self._keys.claim(request.task), self.manual_key(request)]
        at, fire_id = newest if newest is not None else ("", "")
        args = [self.owner, request.fire_id, request.task, outcome, at, fire_id]
        async with redis_deadline(self._timeout):
            return bool(int(await self._finish(keys=keys, args=args)))

    async def take_over(self, limit: int = 100) -> list[TakenOver]:
        """The fires whose claimer's lease ran out, now this replica's (one taker each)."""
        async with redis_deadline(self._timeout):
            tasks = [_text(t) for t in await self._expired(keys=[self._keys.leases], args=[limit])]
            if not tasks:
                return []
            keys = [self._keys.leases, *(self._keys.claim(task) for task in tasks)]
            raw = await self._take_over(keys=keys, args=[self.owner, self._lease_ms, *tasks])
        return [
            TakenOver(_text(r[0]), _text(r[1]), int(r[2]), _text(r[3]), _text(r[4])) for r in raw
        ]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
