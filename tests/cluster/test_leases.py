"""The lease keeper (worker.cluster.leases) on a real redis-server: a held lease outlives
several lease durations, and ends as soon as its run is recorded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from tests.cluster.claim_support import claim, now_ms, store, task
from tests.cluster.claim_support import claim_request as fire
from worker.cluster.leases import Leases
from worker.cluster.replies import ClaimRequest

LEASE = 0.6
"""Seconds: renewed every 0.2 s; a run of a one-second task is stuck after 3 s."""


@pytest.fixture
async def leases(client: Redis) -> AsyncIterator[Leases]:
    keeper = Leases(store(client, "a", lease=LEASE), LEASE)
    yield keeper
    await keeper.close(1.0)


async def _hold(client: Redis, leases: Leases, name: str) -> ClaimRequest:
    at = await now_ms(client)
    request = fire(name, at)
    assert await claim(store(client, "a", lease=LEASE), request) == ("won", 0)
    lost: list[str] = []
    leases.hold(
        request, task(name), datetime.fromtimestamp(at / 1000, UTC), lambda: lost.append(name)
    )
    return request


async def _taken_by_another(client: Redis) -> list[str]:
    look = await store(client, "b").take_over()
    return [taken.task for taken in look.taken]


async def test_a_held_lease_outlives_its_lease_and_ends_as_soon_as_its_run_does(
    client: Redis, leases: Leases
) -> None:
    request = await _hold(client, leases, "t")
    await asyncio.sleep(LEASE * 3)
    assert await _taken_by_another(client) == []
    leases.end(request, "ok", None)
    await asyncio.wait_for(leases.settled("t"), LEASE)
    assert not leases.holds("t")
    later = fire("t", request.at_ms + 1)
    assert (await claim(store(client, "b"), later))[0] == "won"


async def test_leases_held_while_the_keeper_waits_or_sleeps_are_renewed_in_time(
    client: Redis, leases: Leases
) -> None:
    """A lease held while another's renewal is pending, and one held after the keeper went
    to sleep with nothing held: both renewed before they run out."""
    first = await _hold(client, leases, "one")
    await asyncio.sleep(LEASE / 4)
    second = await _hold(client, leases, "two")
    await asyncio.sleep(LEASE * 2)
    assert await _taken_by_another(client) == []
    for request in (first, second):
        leases.end(request, "ok", None)
        await asyncio.wait_for(leases.settled(request.task), LEASE)
    await asyncio.sleep(LEASE / 2)
    await _hold(client, leases, "three")
    await asyncio.sleep(LEASE * 2)
    assert await _taken_by_another(client) == []
    assert leases.holds("three")
