"""The floor: sleep to each whole second, publish the trigger; nothing else.

Usage: python -m bench.floor REDIS_URL CHANNEL. Prints `ready` on stderr when its loop starts;
SIGTERM ends it with exit code 0.
"""

from __future__ import annotations

import asyncio
import math
import signal
import sys
import time

from redis.asyncio import Redis

from bench.payload import trigger_payload


async def run(url: str, channel: str) -> int:
    client = Redis.from_url(url)
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    print("ready", file=sys.stderr, flush=True)
    try:
        while True:
            second = math.floor(time.time()) + 1
            await asyncio.sleep(second - time.time())
            await client.publish(channel, trigger_payload(second))
    except asyncio.CancelledError:
        return 0
    finally:
        await client.aclose()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(run(sys.argv[1], sys.argv[2])))
