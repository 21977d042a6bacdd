"""How often a fire is recovered, and claims whose replies were lost (the scripts, on a real
redis-server)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from tests.cluster.claim_support import KEYS, claim, now_ms, store
from tests.cluster.claim_support import claim_request as fire
from worker.cluster.replies import ClaimRequest, LeaseEnd


async def test_a_fire_is_taken_over_at_most_max_recoveries_times_then_abandoned(
    client: Redis,
) -> None:
    at = await now_ms(client)
    dead, b, c = store(client, "dead", lease=0.3), store(client, "b", 0.3), store(client, "c")
    b.max_recoveries = c.max_recoveries = 1
    assert (await claim(dead, fire("t", at)))[0] == "won"
    await asyncio.sleep(0.4)
    look = await b.take_over()
    assert [t.fire_id for t in look.taken] == [f"t:{at}"]
    assert look.abandoned == []
    await asyncio.sleep(0.4)  # b dies too: its lease runs out
    look = await c.take_over()
    assert look.taken == []
    assert [(t.fire_id, t.previous_owner) for t in look.abandoned] == [(f"t:{at}", "b")]
    state = await client.hmget(KEYS.claim("t"), "done", "outcome", "failures")
    assert state == [b"1", b"abandoned", b"1"]
    assert (await c.take_over()).abandoned == []  # recorded once: by the replica that ended it
    assert (await claim(c, fire("t", at + 1000)))[0] == "won"
    assert await client.hget(KEYS.claim("t"), "recoveries") == b"0"  # counted per fire


async def test_a_claim_whose_reply_was_lost_is_claimed_over_by_its_owner_and_folded(
    client: Redis,
) -> None:
    """The claim went out before Redis froze and ran on thaw, but its reply was lost: its
    owner holds no such lease, so its next claim wins over it (counted in `missed`); a lease
    the owner does hold (its run going on) refuses the claim as ever."""
    at = await now_ms(client) - 2000
    a = store(client, "a")
    assert (await claim(a, fire("t", at)))[0] == "won"  # the orphan: nothing holds it here
    held = ClaimRequest("t", at + 1000, f"t:{at + 1000}", True, None, held=True)
    assert (await claim(a, held))[0] == "busy"
    replies, _ = await a.claim([fire("t", at + 2000)])
    assert (replies[0].status, replies[0].previous_mark) == ("won", at - 1)
    assert (replies[0].abandoned, replies[0].abandoned_at) == (f"t:{at}", at)
    b = store(client, "b")  # another replica still finds the owner's live lease busy
    assert (await claim(b, fire("t", at + 2500)))[0] == "busy"


async def test_claims_folded_one_into_another_count_from_the_last_fire_that_ran(
    client: Redis,
) -> None:
    """Claims queued in a frozen Redis run on thaw, each over the one before (their replies
    lost); the claim that is answered counts every one of their fires in `missed`."""
    at = await now_ms(client) - 5000
    a = store(client, "a")
    assert (await claim(a, fire("t", at)))[0] == "won"
    await a.finish([LeaseEnd(fire("t", at), "ok", None)])  # :00 ran
    for orphan in (at + 1000, at + 2000, at + 3000):
        assert (await claim(a, fire("t", orphan)))[0] == "won"
    replies, _ = await a.claim([fire("t", at + 4000)])
    assert (replies[0].status, replies[0].previous_mark) == ("won", at)  # :01-:03 missed


async def test_a_claim_retried_after_its_reply_was_lost_wins_again(client: Redis) -> None:
    """The same fire claimed again by its owner (the first reply lost, no newer fire folded
    in meanwhile): won once more, not refused as stale and lost."""
    at = await now_ms(client) - 1000
    a = store(client, "a")
    assert (await claim(a, fire("t", at)))[0] == "won"
    replies, _ = await a.claim([fire("t", at)])
    assert (replies[0].status, replies[0].abandoned) == ("won", "")
    assert (await claim(store(client, "b"), fire("t", at)))[0] == "stale"  # for the others


async def test_a_manual_fire_folded_after_its_claimer_died_counts_from_the_mark(
    client: Redis,
) -> None:
    at = await now_ms(client) - 3000
    a, b = store(client, "a"), store(client, "b", lease=0.3)
    for ran in (at, at + 1000):  # two scheduled fires run and end
        assert (await claim(a, fire("t", ran)))[0] == "won"
        await a.finish([LeaseEnd(fire("t", ran), "ok", None)])
    assert (await claim(b, fire("t", at + 1500, manual="m")))[0] == "won"
    await asyncio.sleep(0.4)  # b dies mid-run; nobody has taken its manual fire over yet
    replies, _ = await a.claim([fire("t", at + 2000)])
    assert (replies[0].status, replies[0].previous_mark) == ("won", at + 1000)


async def test_a_fire_handed_on_at_shutdown_is_no_recovery(client: Redis) -> None:
    at = await now_ms(client)
    a, b = store(client, "a"), store(client, "b")
    b.max_recoveries = 0
    request = fire("t", at)
    assert (await claim(a, request))[0] == "won"
    assert await a.finish([LeaseEnd(request, "cancelled", None)]) == [True]  # cut off
    look = await b.take_over()
    assert ([t.fire_id for t in look.taken], look.abandoned) == ([request.fire_id], [])
