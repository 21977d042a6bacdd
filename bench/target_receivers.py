"""Receivers of the targets' lag bench: one asyncio task per target, each surviving a server
restart, stamping every message on receipt (`time.time()`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Receipts:
    """What one target delivered: (receipt time, payload) in arrival order."""

    name: str
    got: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    def add(self, data: bytes | str) -> None:
        self.got.append((time.time(), json.loads(data)))


async def _forever(step: Callable[[], Awaitable[None]]) -> None:
    """Run `step` again after any error (a server restarting), until cancelled."""
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            await asyncio.sleep(0.1)


async def redis_pubsub(url: str, channel: str, into: Receipts, ready: asyncio.Event) -> None:
    from redis.asyncio import Redis

    async def step() -> None:
        client = Redis.from_url(url)
        try:
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(channel)
            ready.set()
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    into.add(message["data"])
        finally:
            await client.aclose()

    await _forever(step)


async def redis_stream(url: str, key: str, into: Receipts, ready: asyncio.Event) -> None:
    from redis.asyncio import Redis

    last = "$"

    async def step() -> None:
        nonlocal last
        client = Redis.from_url(url)
        try:
            ready.set()
            while True:
                for _, entries in await client.xread({key: last}, block=1000) or []:
                    for entry_id, fields in entries:
                        into.add(fields[b"data"])
                        last = entry_id
        finally:
            await client.aclose()

    await _forever(step)


async def nats_core(nc: Any, subject: str, into: Receipts) -> Any:
    async def received(msg: Any) -> None:
        if not msg.reply:  # a JetStream publish on the same subject is a request: not core's
            into.add(msg.data)

    return await nc.subscribe(subject, cb=received)


async def jetstream(nc: Any, subject: str, stream: str, into: Receipts) -> None:
    from nats.errors import TimeoutError as NatsTimeout

    async def step() -> None:
        js = nc.jetstream()
        sub = await js.pull_subscribe(subject, durable=f"bench-{stream}", stream=stream)
        try:
            while True:
                with contextlib.suppress(NatsTimeout):
                    for msg in await sub.fetch(10, timeout=1):
                        into.add(msg.data)
                        await msg.ack()
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    await _forever(step)


async def wait_stream(nc: Any, stream: str, timeout: float = 20.0) -> None:
    """The worker creates its stream at start: wait for it before consuming."""
    js = nc.jetstream()
    deadline = time.monotonic() + timeout
    while True:
        try:
            await js.stream_info(stream)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
