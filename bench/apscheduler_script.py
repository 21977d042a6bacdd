"""A plain APScheduler 3 program doing the worker's job: publish the trigger every second.

Usage: python -m bench.apscheduler_script REDIS_URL CHANNEL. Prints `ready` on stderr after
`scheduler.start()`; SIGTERM shuts the scheduler down and exits 0. Scheduler defaults are kept.
"""

from __future__ import annotations

import asyncio
import math
import signal
import sys
import time
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from redis.asyncio import Redis

from bench.payload import trigger_payload


async def run(url: str, channel: str) -> int:
    client = Redis.from_url(url)

    async def publish() -> None:
        # APScheduler 3 does not hand the fire time to the job: floor(now) is it while lag < 1 s.
        await client.publish(channel, trigger_payload(math.floor(time.time())))

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(publish, CronTrigger(second="*", timezone=UTC), id="crypto-trigger")
    scheduler.start()
    print("ready", file=sys.stderr, flush=True)
    await stop.wait()
    scheduler.shutdown(wait=False)
    await client.aclose()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(run(sys.argv[1], sys.argv[2])))
