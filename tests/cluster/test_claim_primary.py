"""A claim no replica acknowledged runs only on a primary the sentinels still name (a real
sentinel; the planned failover itself: tests/cluster/test_fleet_sentinel.py)."""

from __future__ import annotations

import pytest
import redis
from redis.asyncio import Redis

from tests.cluster.claim_support import KEYS, now_ms
from tests.cluster.claim_support import claim_request as fire
from tests.support import RedisServer, sentinel_of
from worker.cluster.claims import ClaimStore
from worker.cluster.replicated import PrimaryMoved
from worker.connect.redis import close_client, make_client


def _renamed(sentinels: str, to: RedisServer) -> None:
    """The sentinel names `to` as the master from now on (as after a switch)."""
    ask = redis.Redis(port=int(sentinels.rsplit(":", 1)[1]), socket_timeout=2)
    ask.execute_command("SENTINEL", "REMOVE", "mymaster")  # type: ignore[no-untyped-call]
    ask.execute_command("SENTINEL", "MONITOR", "mymaster", "127.0.0.1", to.port, 1)  # type: ignore[no-untyped-call]
    ask.close()


async def test_an_unacknowledged_claim_on_a_primary_no_longer_named_is_claimed_again(
    own_redis: RedisServer, redis_server: RedisServer
) -> None:
    with sentinel_of(own_redis) as sentinels:
        address = sentinels.rsplit(":", 1)
        client = make_client(own_redis.url, sentinels=((address[0], int(address[1])),))
        try:
            await _claims_follow_the_named_primary(client, sentinels, redis_server)
        finally:
            await close_client(client)


async def _claims_follow_the_named_primary(
    client: Redis, sentinels: str, named_next: RedisServer
) -> None:
    store = ClaimStore(client, KEYS, owner="a", lease=5.0, skew=2.0, timeout=5.0)
    at = await now_ms(client)
    replies, acked = await store.claim([fire("moved", at)], replicas=1, wait_ms=100)
    assert (replies[0].status, acked) == ("won", 0)  # confirmed: still the primary
    _renamed(sentinels, named_next)
    with pytest.raises(PrimaryMoved):
        await store.claim([fire("moved", at + 1000)], replicas=1, wait_ms=100)
    replies, _ = await store.claim([fire("moved", at + 1000)], replicas=1, wait_ms=100)
    assert replies[0].status == "won"  # claimed again, on the primary now named
    assert named_next.client().hget(KEYS.claim("moved"), "fire") is not None
