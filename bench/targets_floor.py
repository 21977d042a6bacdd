"""The targets' floor: at each whole second + 0.5 s, publish the trigger by hand to every
target at once (Redis PUBLISH, XADD, core NATS publish + flush, JetStream publish).

Usage: python -m bench.targets_floor REDIS_URL NATS_URL OUT.json. Prints `ready` on stderr;
SIGTERM ends it and writes the JetStream ack round trips (ms) and each second's publish start
(`time.time()`) to OUT.json.
"""

from __future__ import annotations

import asyncio
import json
import math
import signal
import sys
import time
from pathlib import Path

import nats
from nats.js.api import StreamConfig
from redis.asyncio import Redis

from bench.payload import trigger_payload

OFFSET = 0.5
"""Half a second after the worker's fires, so the two never share an instant."""
CHANNEL, STREAM_KEY, CORE, JS_SUBJECT, JS_STREAM = (
    "floor:pubsub",
    "floor:stream",
    "floor.core",
    "floor.js",
    "FLOOR",
)


async def run(redis_url: str, nats_url: str) -> tuple[list[float], dict[int, float]]:
    redis = Redis.from_url(redis_url)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=JS_STREAM, subjects=[JS_SUBJECT], duplicate_window=120))
    acks: list[float] = []
    starts: dict[int, float] = {}

    async def jetstream(data: bytes, msg_id: str) -> None:
        started = time.perf_counter()
        await js.publish(JS_SUBJECT, data, headers={"Nats-Msg-Id": msg_id})
        acks.append((time.perf_counter() - started) * 1000)

    async def core(data: bytes) -> None:
        await nc.publish(CORE, data)
        await nc.flush()

    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    print("ready", file=sys.stderr, flush=True)
    try:
        while True:
            second = math.floor(time.time()) + 1
            await asyncio.sleep(second + OFFSET - time.time())
            text = trigger_payload(second)
            data, msg_id = text.encode(), json.loads(text)["id"]
            starts[second] = time.time()
            await asyncio.gather(
                redis.publish(CHANNEL, data),
                redis.xadd(STREAM_KEY, {"data": data, "id": msg_id}, id=f"{second * 1000}-0"),
                core(data),
                jetstream(data, msg_id),
            )
    except asyncio.CancelledError:
        return acks, starts
    finally:
        await redis.aclose()
        await nc.close()


def main() -> int:
    acks, starts = asyncio.run(run(sys.argv[1], sys.argv[2]))
    Path(sys.argv[3]).write_text(json.dumps({"acks": acks, "starts": starts}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
