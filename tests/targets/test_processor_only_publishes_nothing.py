"""A processor-only replica opens no trigger lane (before: it started the publisher with
the listeners: it connected to NATS and created or updated the JetStream stream)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.support import WorkerProcess, wait_for
from tests.targets.support import NatsServer

Spawn = Callable[..., WorkerProcess]


async def streams(url: str) -> list[str]:
    import nats

    nc = await nats.connect(url)
    try:
        return [info.config.name or "" for info in await nc.jetstream().streams_info()]
    finally:
        await nc.close()


def test_a_processor_only_replica_leaves_nats_alone(
    spawn_worker: Spawn, nats_server: NatsServer
) -> None:
    env = {"TRIGGER_TARGETS": "redis-pubsub,jetstream", "NATS_URL": nats_server.url}
    processor = spawn_worker(WORKER_ROLES="processor", **env)
    processor.wait_for_log(" ready ")
    processor.wait_for_log("processor started")
    assert processor.stop() == 0
    assert asyncio.run(streams(nats_server.url)) == []
    assert "nats" not in processor.stdout.lower(), processor.stdout
    scheduler = spawn_worker(WORKER_ROLES="scheduler", **env)  # the contrast: it prepares
    wait_for(lambda: asyncio.run(streams(nats_server.url)) == ["CRYPTO"], what="the stream")
    assert scheduler.stop() == 0
