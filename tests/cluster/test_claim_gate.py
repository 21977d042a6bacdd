"""The cluster gate on a real redis-server: what a claim's answer makes of a fire."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from typing_extensions import override

from tests.cluster.claim_support import (
    KEYS,
    fire_at,
    gate,
    now_ms,
    second_ago,
    store,
    task,
    thread_client,
    until_past,
)
from tests.run_support import make_runner
from worker.cluster.claims import ClaimStore
from worker.cluster.gate import ClusterGate
from worker.cluster.pause import PauseState
from worker.cluster.recovery import Recovery
from worker.cluster.replies import ClaimReply, ClaimRequest, LeaseEnd
from worker.connect.outage import OutageMonitor
from worker.run.gate import Admission
from worker.testing.listeners import RecordedRuns


async def test_a_dead_claimers_abandoned_fire_is_counted_in_the_winners_missed(
    client: Redis,
) -> None:
    at = await second_ago(client) - 1000
    dead = store(client, "dead", lease=0.3)
    abandoned = ClaimRequest("t", at, fire_at("t", at).id, True, None)
    assert (await dead.claim([abandoned]))[0][0].status == "won"
    await asyncio.sleep(0.4)  # its lease runs out, nobody has taken the fire over yet
    fire = fire_at("t", at + 1000)
    winner = gate(client, "b")
    answer = await winner.admit(task(), fire)
    await winner.close(0.5)
    assert isinstance(answer, Admission)
    assert answer.run
    assert fire.missed == 1


async def test_a_fire_refused_for_overlap_is_recorded_skipped_by_its_first_refuser(
    client: Redis,
) -> None:
    at = await second_ago(client)
    assert (await store(client, "a").claim([ClaimRequest("t", at, "t:a", True, None)]))[0]
    later = at + 1000
    first, second = gate(client, "b"), gate(client, "c")
    refused = await first.admit(task(), fire_at("t", later))
    quiet = await second.admit(task(), fire_at("t", later))
    assert isinstance(refused, Admission)
    assert (refused.run, refused.reason) == (False, "overlap: previous fire still runs on a")
    assert isinstance(quiet, Admission)
    assert (quiet.run, quiet.reason) == (False, None)  # not recorded twice


async def test_a_fire_refused_for_overlap_ahead_of_its_instant_is_claimed_again_on_it(
    client: Redis,
) -> None:
    """Claimed ahead of its instant, a fire is refused while the previous run goes on; that
    run ends before the instant, so the fire is claimed once more on it, and runs."""
    at = await now_ms(client)
    running = ClaimRequest("t", at - 1000, "t:running", True, None)
    owner = store(client, "a")
    assert (await owner.claim([running]))[0][0].status == "won"
    instant = at + 400
    here = gate(client, "b")
    admitting = asyncio.ensure_future(here.admit(task(), fire_at("t", instant)))
    await until_past(client, at + 100)  # the claim sent ahead was refused meanwhile
    assert not admitting.done()
    assert await owner.finish([LeaseEnd(running, "ok", None)]) == [True]
    answer = await asyncio.wait_for(admitting, 5)
    assert isinstance(answer, Admission)
    assert answer.run
    assert await now_ms(client) >= instant
    await here.close(0.5)


async def test_a_run_continues_the_fleet_wide_failure_streak(client: Redis) -> None:
    at = await second_ago(client) - 2000
    other = store(client, "a")
    for step in range(2):  # two failed runs on another replica
        request = ClaimRequest("t", at + step * 1000, f"t:{step}", True, None)
        assert (await other.claim([request]))[0][0].status == "won"
        assert await other.finish([LeaseEnd(request, "failed", None)]) == [True]
    records = RecordedRuns()
    here = gate(client, "b")
    runner = make_runner(records, gate=here, instance_id="b")

    async def broken() -> None:
        raise RuntimeError("down")

    runner.add(task(), broken)
    run = runner.submit("t", [datetime.fromtimestamp((at + 2000) / 1000, UTC)])
    assert run is not None
    record = await run
    await here.close(1.0)
    assert (record.outcome, record.consecutive_failures) == ("failed", 3)


async def test_a_fire_taken_over_under_an_id_made_otherwise_here_still_runs(
    client: Redis,
) -> None:
    """The claimed id and the one made here differ (the schedule's precision changed)."""
    at = await second_ago(client)
    dead = store(client, "dead", lease=0.3)
    assert (await dead.claim([ClaimRequest("t", at, "t:claimed-id", True, None)]))[0]
    records = RecordedRuns()
    here = gate(client, "b")
    runner = make_runner(records, gate=here, instance_id="b")
    ran: list[str] = []

    async def probe() -> None:
        ran.append("yes")

    runner.add(task(), probe)
    recovery = Recovery(store(client, "b"), here, OutageMonitor(), runner, lease=0.3)
    await recovery.start()
    try:
        async with asyncio.timeout(5):
            while not records.records:
                await asyncio.sleep(0.02)
    finally:
        await recovery.close(1.0)
        await here.close(1.0)
    assert ran == ["yes"]
    assert [(r.outcome, r.recovered) for r in records.records] == [("ok", True)]


class HeldStore(ClaimStore):
    """A real claim store whose claims wait for `release` before they go to Redis."""

    def __init__(self, client: Redis, owner: str) -> None:
        super().__init__(client, KEYS, owner=owner, lease=5.0, skew=2.0, timeout=5.0)
        self.sent = asyncio.Event()
        self.release = asyncio.Event()

    @override
    async def claim(self, requests: Any, **options: Any) -> Any:
        self.sent.set()
        await self.release.wait()
        return await super().claim(requests, **options)


async def test_a_fire_folded_in_during_the_claim_round_trip_is_counted_in_missed(
    client: Redis,
) -> None:
    """The winner reports every instant between the previous mark and the fire it now stands
    for, also when a newer fire folded into it while its claim was on the way."""
    at = await second_ago(client) - 3000
    other = store(client, "a")
    previous = ClaimRequest("t", at, fire_at("t", at).id, True, None)
    assert (await other.claim([previous]))[0][0].status == "won"
    assert await other.finish([LeaseEnd(previous, "ok", (at, previous.fire_id))]) == [True]
    held = HeldStore(client, "b")
    here = ClusterGate(held, outage=OutageMonitor(), pause=PauseState(), lease=5.0)
    fire = fire_at("t", at + 2000)  # at + 1000 was missed
    admitting = asyncio.create_task(here.admit(task(), fire))
    await asyncio.wait_for(held.sent.wait(), 5)
    fire.fold(datetime.fromtimestamp((at + 3000) / 1000, UTC))  # what the runner does
    held.release.set()
    answer = await asyncio.wait_for(admitting, 5)
    await here.close(0.5)
    assert isinstance(answer, Admission)
    assert answer.run
    assert fire.id == fire_at("t", at + 3000).id
    assert fire.missed == 2, "at + 1000 and at + 2000 stand behind the fire sent"


class StalledStore(ClaimStore):
    """Claims answered only after the replica stalled `stall` seconds (a loop blocked, a
    SIGSTOP) during which `meanwhile` ran."""

    def __init__(self, client: Redis, stall: float, meanwhile: Callable[[], Awaitable[object]]):
        options: dict[str, Any] = {"skew": 2.0, "timeout": 5.0}
        super().__init__(client, KEYS, owner="a", lease=0.3, **options)
        self._thread_client = thread_client(client)
        self._stall, self._meanwhile = stall, meanwhile

    @override
    async def claim(
        self, requests: Sequence[ClaimRequest], *, replicas: int = 0, wait_ms: int = 0
    ) -> tuple[list[ClaimReply], int | None]:
        answer = await super().claim(requests, replicas=replicas, wait_ms=wait_ms)
        await asyncio.sleep(self._stall)
        await self._meanwhile()
        return answer


async def test_a_claim_answered_after_its_lease_ran_out_runs_only_if_still_this_replicas(
    client: Redis,
) -> None:
    """A replica stalled between its claim and the answer: another replica claimed a newer
    fire over the lapsed lease (counting this one in `missed`), so it is not run here; a
    lapsed lease nobody claimed over is renewed and runs."""
    at = await second_ago(client) - 1000
    other = store(client, "b")

    async def newer_claimed() -> None:
        newer = ClaimRequest("t", at + 1000, fire_at("t", at + 1000).id, True, None)
        assert (await other.claim([newer]))[0][0].status == "won"

    async def nothing() -> None:
        return None

    for name, meanwhile, runs in (("t", newer_claimed, False), ("u", nothing, True)):
        stalled = StalledStore(client, 0.4, meanwhile)
        here = ClusterGate(stalled, outage=OutageMonitor(), pause=PauseState(), lease=0.3)
        answer = await here.admit(task(name), fire_at(name, at))
        await here.close(0.5)
        assert answer.run is runs, name
