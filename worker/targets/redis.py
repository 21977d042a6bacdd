"""The Redis targets: Pub/Sub (`redis-pubsub`) and a capped stream (`redis-stream`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from worker.protocol import is_manual
from worker.targets.base import Message

if TYPE_CHECKING:
    from redis.asyncio import Redis

_PUBLISH = """#!lua
return redis.call('PUBLISH', ARGV[1], ARGV[2])
"""
"""PUBLISH inside a flagged script (the shebang, without `no-writes`; Redis 7): a read-only
replica refuses it with READONLY, where it accepts a plain PUBLISH and hands the message
to its own subscribers only, not the primary's: a demoted primary would eat every trigger."""


def reply_lost(exc: BaseException) -> bool:
    """A Redis command whose reply timed out may have run; one that could not connect did not."""
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, RedisTimeoutError) and "connecting" not in str(exc).lower()


CATCHUP_POLL = 0.05
"""How often a catch-up asks PUBSUB NUMSUB while its channel has no subscriber."""


class RedisPubSubTarget:
    """PUBLISH of compact JSON on CRYPTO_CHANNEL, on a primary only; delivered: Redis replied.

    A catch-up waits until the channel has a subscriber (or Redis any pattern subscriber),
    at most `catchup_wait` (PUBSUB_CATCHUP_WAIT): subscribers re-subscribe after Redis
    restarts, and a message published before they are back reaches none of them."""

    name = "redis-pubsub"
    prepare_at_start = False  # a refused Redis login is the start-up's Redis check's

    def __init__(self, redis: Redis, channel: str, catchup_wait: float = 0.0) -> None:
        self._redis = redis
        self._channel = channel
        self._catchup_wait = catchup_wait
        self._publish = redis.register_script(_PUBLISH)

    async def before_catchup(self) -> None:
        deadline = time.monotonic() + self._catchup_wait
        with contextlib.suppress(Exception):  # the send that follows tells what is wrong
            while not await self._subscribed() and time.monotonic() < deadline:
                await asyncio.sleep(min(CATCHUP_POLL, max(deadline - time.monotonic(), 0)))

    async def _subscribed(self) -> bool:
        counts = await self._redis.pubsub_numsub(self._channel)
        if counts and counts[0][1]:
            return True
        # A pattern subscriber (PSUBSCRIBE crypto-*) is not counted per channel: any one
        # may be listening, and the catch-up does not wait for the channel's own.
        return bool(await self._redis.pubsub_numpat())

    async def probe(self) -> None:
        await self._redis.ping()

    async def prepare(self) -> None:
        await self._redis.ping()

    async def send(self, message: Message) -> None:
        await self._publish(args=[self._channel, message.data])

    def ambiguous(self, exc: BaseException) -> bool:
        return reply_lost(exc)

    def down(self) -> str | None:
        return None


class RedisStreamTarget:
    """XADD to CRYPTO_STREAM_KEY with the entry id `<scheduled ms>-0`, approximate MAXLEN.

    Redis refuses an id not above the stream's last: a resend, or a fire another replica
    already stored, is stored once, and that refusal counts as delivered. A manual fire
    (`worker.protocol.is_manual`) shares its second with a scheduled one: Redis picks its
    id (`*`).
    """

    name = "redis-stream"
    prepare_at_start = False

    def __init__(self, redis: Redis, key: str, maxlen: int) -> None:
        self._redis = redis
        self._key = key
        self._maxlen = maxlen

    async def probe(self) -> None:
        await self._redis.ping()

    async def prepare(self) -> None:
        await self._redis.ping()

    async def before_catchup(self) -> None:
        return None

    async def send(self, message: Message) -> None:
        from redis.exceptions import ResponseError

        fields: dict[str | bytes, str | bytes] = {"data": message.data, "id": message.fire_id}
        try:
            await self._redis.xadd(
                self._key,
                fields,  # type: ignore[arg-type]
                id="*" if is_manual(message.fire_id) else f"{message.at_ms}-0",
                maxlen=self._maxlen,
                approximate=True,
            )
        except ResponseError as exc:
            if "equal or smaller" not in str(exc):
                raise

    def ambiguous(self, exc: BaseException) -> bool:
        return reply_lost(exc)

    def down(self) -> str | None:
        return None
