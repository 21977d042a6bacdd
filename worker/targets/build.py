"""The fan-out the settings ask for: one target per TRIGGER_TARGETS name, one lane each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from worker.run.records import RunListener
from worker.state.keys import Keys
from worker.state.targets import TargetLanes
from worker.targets.fanout import TriggerFanout
from worker.targets.lane import DeliveryLane
from worker.targets.redis import RedisPubSubTarget, RedisStreamTarget

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from worker.connect.nats import NatsConnection
    from worker.settings.base import WorkerSettings
    from worker.targets.base import Target


async def nats_resource(
    *, enabled: bool, servers: list[str], name: str, timeout: float, where: str
) -> AsyncIterator[NatsConnection | None]:
    """`providers.Resource`: the NATS connection every NATS target shares, or None (and
    neither nats-py nor `worker.connect.nats` imported) when TRIGGER_TARGETS names none."""
    if not enabled:
        yield None
        return
    from worker.connect.nats import NatsConnection

    # Connected by the first lane that prepares (a replica that publishes nothing opens none).
    connection = NatsConnection(servers, name=name, timeout=timeout, where=where)
    try:
        yield connection
    finally:
        await connection.close()


def make_targets(
    settings: WorkerSettings, redis: Redis, nats: NatsConnection | None
) -> list[Target]:
    timeout = settings.redis_timeout
    targets: list[Target] = []
    for name in settings.targets:
        if name == "redis-pubsub":
            channel, wait = settings.crypto_channel, settings.pubsub_catchup_wait
            targets.append(RedisPubSubTarget(redis, channel, catchup_wait=wait))
        elif name == "redis-stream":
            key, maxlen = settings.crypto_stream_key, settings.crypto_stream_maxlen
            targets.append(RedisStreamTarget(redis, key, maxlen))
        else:
            from worker.targets.nats import JetStreamTarget, NatsTarget

            assert nats is not None, "a NATS target without a NATS connection"
            if name == "nats":
                targets.append(NatsTarget(nats, settings.crypto_subject, timeout))
            else:
                targets.append(
                    JetStreamTarget(
                        nats,
                        subject=settings.crypto_subject,
                        stream=settings.jetstream_stream,
                        max_age=settings.jetstream_max_age,
                        timeout=timeout,
                        manage=settings.manage_stream,
                    )
                )
    return targets


def trigger_fanout(
    *,
    settings: WorkerSettings,
    redis: Redis,
    nats: NatsConnection | None,
    keys: Keys,
    alerts: RunListener,
    metrics: RunListener,
) -> TriggerFanout:
    """`providers.Singleton(trigger_fanout, ...)`: the `publisher` of FrameworkContainer."""
    state = TargetLanes(redis, keys=keys, timeout=settings.redis_timeout)
    fanout = TriggerFanout(state=state, instance_id=settings.worker_instance_id)
    fanout.lanes = tuple(
        DeliveryLane(
            target,
            send_timeout=settings.redis_timeout,
            log_interval=settings.outage_log_interval,
            on_change=fanout.report,
            on_result=metrics.on_delivery,
            alert_after=settings.alert_after_failures,
            alert=alerts.on_target,
        )
        for target in make_targets(settings, redis, nats)
    )
    return fanout
