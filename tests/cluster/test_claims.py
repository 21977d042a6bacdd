"""The claim scripts, case by case, on a real redis-server (worker.cluster.claims)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

from redis.asyncio import Redis

from tests.cluster.claim_support import claim, now_ms, store, until_past
from tests.cluster.claim_support import claim_request as fire
from worker.cluster.claims import ClaimStore
from worker.cluster.replies import ClaimRequest, LeaseEnd
from worker.protocol import TakenOver, manual_id
from worker.state.keys import Keys

KEYS = Keys("worker:")
T0 = 1_900_000_000_000  # a scheduled instant (ms), within CLAIM_SKEW of nothing: see `now_ms`


async def test_the_first_claim_wins_and_an_equal_or_older_fire_is_refused(client: Redis) -> None:
    at = await now_ms(client)
    a, b = store(client, "a"), store(client, "b")
    assert await claim(a, fire("t", at)) == ("won", 0)
    assert await claim(b, fire("t", at)) == ("stale", at)
    assert await claim(b, fire("t", at - 1000)) == ("stale", at)


async def test_a_newer_fire_is_refused_while_the_previous_one_holds_a_live_lease(
    client: Redis,
) -> None:
    at = await now_ms(client) - 1000
    a, b = store(client, "a"), store(client, "b")
    assert (await claim(a, fire("t", at)))[0] == "won"
    replies, _ = await b.claim([fire("t", at + 1000)])
    assert (replies[0].status, replies[0].owner) == ("busy", "a")


async def test_after_the_run_is_finished_the_next_fire_wins_and_sees_the_folded_mark(
    client: Redis,
) -> None:
    at = await now_ms(client) - 3000
    a, b = store(client, "a"), store(client, "b")
    request = fire("t", at)
    assert (await claim(a, request))[0] == "won"
    assert await a.finish([LeaseEnd(request, "ok", (at + 1000, "t:folded"))]) == [
        True
    ]  # a fold moved the mark
    assert await claim(b, fire("t", at + 1000)) == ("stale", at + 1000)
    assert await claim(b, fire("t", at + 2000)) == ("won", at + 1000)


async def test_a_fire_beyond_claim_skew_ahead_of_redis_is_refused(client: Redis) -> None:
    at = await now_ms(client)
    a = store(client, "a", skew=2.0)
    assert (await claim(a, fire("t", at + 5000)))[0] == "early"
    assert (await claim(a, fire("t", at + 1500)))[0] == "won"


async def test_a_claim_sent_ahead_of_its_instant_is_held_to_the_skew_beyond_its_lead(
    client: Redis,
) -> None:
    """Fires are claimed ahead of their instant: CLAIM_SKEW bounds the clocks' difference,
    so a claim that says how far ahead it was sent (by its clock) is not refused for that."""
    at = await now_ms(client) + 400
    a = store(client, "a", skew=0.1)
    assert (await claim(a, fire("t", at)))[0] == "early"  # 400 ms ahead, said to be on time
    sent_ahead = replace(fire("t", at), ahead_ms=400)
    assert (await claim(a, sent_ahead))[0] == "won"
    clock_ahead = replace(fire("u", at + 1000), ahead_ms=400)  # a clock 1 s ahead of Redis's
    assert (await claim(a, clock_ahead))[0] == "early"


async def test_claims_of_many_tasks_go_in_one_call_each_answered(client: Redis) -> None:
    at = await now_ms(client)
    a, b = store(client, "a"), store(client, "b")
    requests = [fire(f"t{i}", at) for i in range(1000)]
    won, _ = await a.claim(requests)
    lost, _ = await b.claim(requests)
    assert {r.status for r in won} == {"won"}
    assert {r.status for r in lost} == {"stale"}


async def test_a_manual_fire_is_claimed_once_and_leaves_the_mark_alone(client: Redis) -> None:
    at = await now_ms(client)
    a, b = store(client, "a"), store(client, "b")
    manual = fire("t", at, manual="abc")
    assert await claim(a, manual) == ("won", 0)
    assert (await claim(b, manual))[0] == "taken"
    assert await a.finish([LeaseEnd(manual, "ok", None)]) == [True]
    # The outcome as every version writes it; the owner beside it.
    assert await client.get(KEYS.manual_claim("abc")) == b"done:ok"
    assert await client.get(KEYS.manual_owner("abc")) == b"a"
    assert await claim(b, fire("t", at - 500)) == ("won", 0)  # the mark was not moved


async def test_a_manual_fire_taken_over_keeps_its_token_and_claim(client: Redis) -> None:
    at = await now_ms(client)
    dead = store(client, "dead", lease=0.3)
    request = ClaimRequest("t", at, manual_id("t", "abc"), True, "abc")
    assert await claim(dead, request) == ("won", 0)
    await until_past(client, at + 300)
    [taken] = (await store(client, "b").take_over()).taken
    assert taken == TakenOver("t", "t:manual:abc", at, "abc", "dead")
    assert ClaimRequest.taken(taken) == request
    assert await store(client, "b").finish([LeaseEnd(request, "ok", None)]) == [True]
    assert await client.get(KEYS.manual_claim("abc")) == b"done:ok"


async def test_an_expired_lease_is_taken_over_by_exactly_one_replica(client: Redis) -> None:
    at = await now_ms(client)
    dead, b, c = store(client, "dead", lease=1.0), store(client, "b"), store(client, "c")
    assert (await claim(dead, fire("t", at)))[0] == "won"
    look = await b.take_over()
    taken, until = look.taken, look.wait
    assert taken == []  # the lease is still live: the answer says when it runs out
    assert until is not None
    assert 0 < until <= 1.0
    await asyncio.sleep(1.1)
    answers = await asyncio.gather(b.take_over(), c.take_over())
    found = [t for look in answers for t in look.taken]
    assert len(found) == 1
    assert (found[0].task, found[0].fire_id, found[0].at_ms) == ("t", f"t:{at}", at)
    assert found[0].previous_owner == "dead"
    assert (await claim(c, fire("t", at + 1000)))[0] == "busy"  # the taker holds it now


async def test_a_replica_without_the_task_leaves_its_expired_lease_to_one_with_it(
    client: Redis,
) -> None:
    at = await now_ms(client)
    dead, b, c = store(client, "dead", lease=0.2), store(client, "b"), store(client, "c")
    assert (await claim(dead, fire("t", at)))[0] == "won"
    await until_past(client, at + 300)
    # b's application has no task `t` (a rolling deploy that adds it, another app).
    look = await b.take_over(runs=lambda task: task != "t")
    assert (look.taken, look.wait) == ([], None)
    assert list(look.left) == ["t"]
    assert (await client.hget(KEYS.claim("t"), "owner")) == b"dead"
    taken = (await c.take_over(runs=lambda task: task == "t")).taken
    assert [(t.task, t.fire_id, t.previous_owner) for t in taken] == [("t", f"t:{at}", "dead")]


async def test_expired_leases_of_other_apps_tasks_do_not_hide_this_ones(client: Redis) -> None:
    at = await now_ms(client)
    dead = store(client, "dead", lease=0.2)
    for task in ("a1", "a2", "a3", "t"):  # three fires of tasks this app lacks, then its own
        assert (await claim(dead, fire(task, at)))[0] == "won"
    await until_past(client, at + 300)
    look = await store(client, "b").take_over(limit=2, runs=lambda task: task == "t")
    taken = look.taken
    assert sorted(look.left) == ["a1", "a2", "a3"]
    assert [t.task for t in taken] == ["t"]
    assert await client.zscore(KEYS.leases, "a1") is not None  # left for their own app


async def test_a_finished_run_of_another_apps_task_is_not_left_and_leaves_the_set(
    client: Redis,
) -> None:
    at = await now_ms(client)
    owner = store(client, "owner", lease=0.2)
    request = fire("t", at)
    assert (await claim(owner, request))[0] == "won"
    assert await owner.finish([LeaseEnd(request, "ok", (at, request.fire_id))]) == [True]
    await until_past(client, at + 300)
    look = await store(client, "b").take_over(runs=lambda task: False)
    assert (look.taken, look.left) == ([], {})  # nothing a dead claimer left
    assert await client.zscore(KEYS.leases, "t") is None


async def test_a_task_that_opted_out_of_recovery_is_never_taken_over(client: Redis) -> None:
    at = await now_ms(client)
    dead, b = store(client, "dead", lease=1.0), store(client, "b")
    assert (await claim(dead, fire("t", at, recover=False)))[0] == "won"
    await asyncio.sleep(1.1)
    look = await b.take_over()
    assert (look.taken, look.wait, look.left) == ([], None, {})
    assert (await claim(b, fire("t", at + 1000)))[0] == "won"  # its lease simply ran out


async def test_only_the_owner_renews_a_lease_and_a_finish_is_taken_by_fire_id(
    client: Redis,
) -> None:
    """A late finish (a run whose lease was taken over while its loop was blocked) still
    ends its fire; a finish of a fire the claim has moved on from ends nothing."""
    at = await now_ms(client)
    a, b = store(client, "a"), store(client, "b")
    request = fire("t", at)
    assert (await claim(a, request))[0] == "won"
    assert await asyncio.to_thread(b.renew_blocking, [("t", request.fire_id)]) == [False]
    assert await asyncio.to_thread(a.renew_blocking, [("t", request.fire_id)]) == [True]
    assert await b.finish([LeaseEnd(request, "ok", None)]) == [True]
    assert await client.hget(KEYS.claim("t"), "done") == b"1"
    assert await asyncio.to_thread(a.renew_blocking, [("t", request.fire_id)]) == [False]
    assert (await claim(a, fire("t", at + 1000)))[0] == "won"
    assert await b.finish([LeaseEnd(request, "ok", None)]) == [False]


async def test_a_lease_earlier_than_every_lease_held_is_announced_on_the_control_channel(
    client: Redis,
) -> None:
    """Recovery sleeps until the earliest lease deadline; a new earliest one is announced."""
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(KEYS.control)
    at = await now_ms(client) - 1000
    short, long = store(client, "a", lease=1.0), store(client, "b", lease=5.0)
    assert (await claim(long, fire("t1", at)))[0] == "won"  # none held: announced
    assert (await claim(long, fire("t2", at)))[0] == "won"  # a lease as early is held
    assert (await claim(short, fire("t3", at)))[0] == "won"  # earlier than any: announced
    assert (await claim(short, fire("t4", at, recover=False)))[0] == "won"  # no lease
    heard = []
    for _ in range(10):  # the subscription's own reply comes first, as None
        message = await pubsub.get_message(timeout=0.1)
        if message is not None:
            heard.append(json.loads(message["data"]))
    assert heard == [
        {"op": "lease", "task": "", "ms": 5000},
        {"op": "lease", "task": "", "ms": 1000},
    ]
    await pubsub.aclose()  # type: ignore[no-untyped-call]


async def test_a_dead_claimers_fire_not_yet_taken_over_is_folded_into_the_next_claim(
    client: Redis,
) -> None:
    at = await now_ms(client) - 1000
    dead, b, c = store(client, "dead", lease=0.3), store(client, "b"), store(client, "c")
    abandoned = fire("t", at)
    assert (await claim(dead, abandoned))[0] == "won"
    await asyncio.sleep(0.4)  # the lease runs out; nobody has taken the fire over yet
    replies, _ = await c.claim([fire("t", at + 500, manual="m")])
    assert replies[0].status == "busy"  # a manual fire leaves it to recovery
    replies, _ = await b.claim([fire("t", at + 1000)])
    # The count starts before the folded fire (it never ran to its end): `missed` counts it.
    assert (replies[0].status, replies[0].previous_mark) == ("won", at - 1)
    assert (replies[0].abandoned, replies[0].abandoned_at) == (abandoned.fire_id, at)
    taken = (await c.take_over()).taken
    assert taken == []  # the fire is b's now: recovery runs nothing twice
    replies, _ = await c.claim([fire("t", at + 2000)])
    assert (replies[0].status, replies[0].abandoned) == ("busy", "")


async def test_a_recoverable_run_cancelled_at_shutdown_is_taken_over_at_once(
    client: Redis,
) -> None:
    at = await now_ms(client)
    a, b = store(client, "a"), store(client, "b")
    request, once = fire("t", at), fire("u", at, recover=False)
    assert [r.status for r in (await a.claim([request, once]))[0]] == ["won", "won"]
    ends = [LeaseEnd(request, "cancelled", (at, request.fire_id))]
    assert await a.finish([*ends, LeaseEnd(once, "cancelled", (at, once.fire_id))]) == [True] * 2
    taken = (await b.take_over()).taken  # no wait for a lease to run out
    assert [(t.task, t.fire_id, t.previous_owner) for t in taken] == [("t", request.fire_id, "a")]
    assert await client.hget(KEYS.claim("u"), "done") == b"1"  # at most once: never again


async def test_a_fire_refused_for_overlap_is_recorded_once_fleet_wide(client: Redis) -> None:
    """By the owner when it schedules the task (it folds the fire in), else by the first
    refuser (e.g. the owner is a `run-task`)."""
    at = await now_ms(client) - 1500
    a, b, c = store(client, "a"), store(client, "b"), store(client, "c")

    async def refusal(s: ClaimStore, request: ClaimRequest) -> tuple[str, bool]:
        replies, _ = await s.claim([request])
        return replies[0].status, replies[0].record

    assert (await claim(a, fire("t", at)))[0] == "won"  # a does not schedule
    assert await refusal(b, fire("t", at + 500)) == ("busy", True)  # b records it
    assert await refusal(c, fire("t", at + 500)) == ("busy", False)  # already recorded
    assert await refusal(c, fire("t", at + 1000)) == ("busy", True)  # the next fire: c
    assert await refusal(b, fire("t", at + 1000)) == ("busy", False)
    scheduler = store(client, "s")
    scheduler.schedules = True
    assert (await claim(scheduler, fire("u", at)))[0] == "won"
    assert await refusal(b, fire("u", at + 500)) == ("busy", False)  # the owner folds it


async def test_the_failure_streak_is_kept_fleet_wide_in_the_claim(client: Redis) -> None:
    at = await now_ms(client) - 1800
    a, b = store(client, "a"), store(client, "b")
    streaks = []
    for step, (owner, outcome) in enumerate(
        [(a, "failed"), (b, "timeout"), (a, "ok"), (b, "failed")]
    ):
        request = fire("t", at + step * 400)
        replies, _ = await owner.claim([request])
        streaks.append(replies[0].failures)
        assert await owner.finish([LeaseEnd(request, outcome, None)]) == [True]
    replies, _ = await a.claim([fire("t", at + 1700)])
    assert [*streaks, replies[0].failures] == [0, 1, 2, 0, 1]
