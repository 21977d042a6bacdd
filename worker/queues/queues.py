"""`Queues`: how services enqueue jobs, on bullmq's own Redis connection.

bullmq needs decoded replies (a shared client breaks it silently), so it gets a client of
its own from the one factory (`worker.connect.redis`: the same pool policy and Sentinel as
every other), made (and bullmq imported) on the first `add`: a worker that never enqueues
pays nothing for it.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from worker.connect.redis import make_client, redis_deadline
from worker.queues.options import QueueOptions, env_name, resolve_options

if TYPE_CHECKING:
    from redis.asyncio import Redis


class Queues:
    """`await queues.add("coin-sync", "sync-coin", {"coin": "bitcoin"}, job_id=…, delay=…)`."""

    def __init__(
        self,
        *,
        url: str,
        prefix: str,
        overrides: Mapping[str, Mapping[str, float]],
        timeout: float,
        sentinels: tuple[tuple[str, int], ...] = (),
        master: str = "mymaster",
    ) -> None:
        self._url = url
        self._sentinels, self._master = sentinels, master
        self.prefix = prefix
        self._overrides = overrides
        self._timeout = timeout
        self._client: Redis | None = None
        self._queues: dict[str, Any] = {}

    def options(self, queue: str) -> QueueOptions:
        """The queue's job options: defaults, then its QUEUE_<NAME>_* settings."""
        own = {k: v for k, v in self._overrides.items() if k == env_name(queue)}
        return resolve_options({queue: None}, own)[queue]

    async def add(
        self,
        queue: str,
        name: str,
        data: Any,
        *,
        job_id: str | None = None,
        delay: float | None = None,
    ) -> str:
        """Enqueue one job; returns its id. A `job_id` already in the queue adds nothing
        (so a retried fire, a recovery or a second replica enqueues nothing twice)."""
        await load_bullmq()
        options = self.options(queue).job_options()
        if job_id is not None:
            options["jobId"] = job_id
        if delay:
            options["delay"] = max(round(delay * 1000), 0)
        async with redis_deadline(self._timeout):
            job = await self._queue(queue).add(name, data, options)
        return str(job.id)

    async def counts(self, queue: str) -> dict[str, int]:
        """bullmq's job counts by state (waiting, active, delayed, completed, failed, …)."""
        await load_bullmq()
        async with redis_deadline(self._timeout):
            counts: dict[str, int] = await self._queue(queue).getJobCounts()
        return counts

    async def close(self) -> None:
        queues, self._queues = self._queues, {}
        for queue in queues.values():
            await queue.close()
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def _queue(self, queue: str) -> Any:
        found = self._queues.get(queue)
        if found is None:
            from bullmq import Queue

            if self._client is None:
                self._client = make_client(
                    self._url,
                    timeout=self._timeout,
                    sentinels=self._sentinels,
                    master=self._master,
                    retry="bullmq",
                    decode=True,
                )
            found = Queue(queue, {"connection": self._client, "prefix": self.prefix})
            self._queues[queue] = found
        return found


async def load_bullmq() -> None:
    """Import bullmq (~20 ms, more under load) in a thread: the loop stays free for signals
    and fires meanwhile."""
    if "bullmq" not in sys.modules:
        await asyncio.to_thread(importlib.import_module, "bullmq")


async def queues_resource(
    *,
    url: str,
    prefix: str,
    overrides: Mapping[str, Mapping[str, float]],
    timeout: float,
    sentinels: tuple[tuple[str, int], ...] = (),
    master: str = "mymaster",
) -> AsyncIterator[Queues]:
    """The container's `queues`: closed (its connection with it) at shutdown."""
    queues = Queues(
        url=url,
        prefix=prefix,
        overrides=overrides,
        timeout=timeout,
        sentinels=sentinels,
        master=master,
    )
    try:
        yield queues
    finally:
        await queues.close()
