"""One drain of the queue bench, in a process of its own (`bench/queues.py` runs it).

    python bench/queue_drain.py URL QUEUE JOBS SLEEP_MS CONCURRENCY worker|raw

Run by path with PYTHONPATH=<tree>, so `worker` is that tree's code (this file imports
nothing of `bench`). The queue is already filled; prints jobs/s, the clock from the
Worker's start to the last job's end: through the worker's processors (`worker.queues`,
one run record per job into the real run recorder) or through a raw bullmq `Worker`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

Close = Callable[[], Awaitable[Any]]


async def _raw(
    url: str, queue: str, concurrency: int, handle: Callable[[Any], Awaitable[None]]
) -> Close:
    from bullmq import Worker

    async def process(job: Any, token: str) -> None:
        await handle(job.data)

    options = {
        "connection": url,
        "prefix": "bull",
        "concurrency": concurrency,
        "removeOnComplete": 10,
        "removeOnFail": 5,
    }
    worker = Worker(queue, process, options)
    return worker.close  # type: ignore[no-any-return]


async def _framework(
    url: str, queue: str, concurrency: int, handle: Callable[[Any], Awaitable[None]]
) -> Close:
    from redis.asyncio import from_url

    from worker.connect.outage import OutageMonitor
    from worker.observe.logs import configure_logging
    from worker.observe.recorder import RunRecorder
    from worker.queues.options import QueueOptions
    from worker.queues.processors import Processors
    from worker.queues.runs import BoundProcessor, JobRuns
    from worker.state.history import RunHistory
    from worker.state.keys import Keys

    configure_logging("WARNING")  # as bench.compare runs the worker: no line per job
    client = from_url(url)
    recorder = RunRecorder(
        RunHistory(client, keys=Keys(), maxlen=100_000, timeout=5), OutageMonitor("redis")
    )
    started = recorder.start()
    if asyncio.iscoroutine(started):  # a coroutine in newer trees, a plain call in older
        await started
    runs = JobRuns(instance_id="bench", listeners=[recorder])
    processors = Processors(
        url=url, prefix="bull", lock_duration=30, max_retry_after=3600, runs=runs
    )
    processors.bind([BoundProcessor("bench", queue, handle, QueueOptions(concurrency=concurrency))])
    await processors.start()

    async def close() -> None:
        await processors.close(30)
        await recorder.close(5)
        await client.aclose()

    return close


async def drain(
    url: str, queue: str, count: int, sleep_ms: int, concurrency: int, kind: str
) -> float:
    done = asyncio.Event()
    seen = 0

    async def handle(data: Any) -> None:
        nonlocal seen
        if sleep_ms:
            await asyncio.sleep(sleep_ms / 1000)
        seen += 1
        if seen == count:
            done.set()

    make = _framework if kind == "worker" else _raw
    started = time.perf_counter()
    close = await make(url, queue, concurrency, handle)
    await asyncio.wait_for(done.wait(), timeout=600)
    elapsed = time.perf_counter() - started
    await close()
    return count / elapsed


def _import_first(kind: str) -> None:
    """Imports stay off the clock (a tree without bytecode compiles them)."""
    import bullmq  # noqa: F401

    if kind == "worker":
        import worker.observe.logs
        import worker.observe.recorder
        import worker.queues.processors
        import worker.queues.reading
        import worker.state.history  # noqa: F401


def main() -> None:
    url, queue, jobs, sleep_ms, concurrency, kind = sys.argv[1:7]
    _import_first(kind)
    rate = asyncio.run(drain(url, queue, int(jobs), int(sleep_ms), int(concurrency), kind))
    print(f"{rate:.3f}", flush=True)


if __name__ == "__main__":
    main()
