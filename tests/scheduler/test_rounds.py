"""A round of the prompt scheduler finished early (`settle`: a status read, the ready line,
a job added) hands every fire over once and leaves every job at its next fire."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.interval import IntervalTrigger

from worker.scheduler.firing import CHUNK, PromptScheduler, prompt_scheduler

JOBS = 5 * CHUNK


def _noop() -> None:
    return None


async def test_a_round_settled_between_its_steps_hands_each_fire_over_once() -> None:
    handed: Counter[tuple[str, datetime]] = Counter()
    scheduler: PromptScheduler | None = None
    loop = asyncio.get_running_loop()

    def submit(name: str, run_times: Sequence[datetime]) -> None:
        if not handed and scheduler is not None:
            loop.call_soon(scheduler.settle)  # runs before the round's next step
        handed.update((name, when) for when in run_times)

    scheduler = prompt_scheduler(submit, lambda _name: timedelta(seconds=10), UTC)
    first = datetime.now(UTC) + timedelta(seconds=0.3)
    for index in range(JOBS):
        trigger = IntervalTrigger(seconds=10, start_date=first, timezone=UTC)
        scheduler.add_job(_noop, trigger=trigger, id=f"job-{index}")
    scheduler.start()

    def settled() -> bool:
        return len(handed) == JOBS and all(
            job.next_run_time.astimezone(UTC) > first for job in scheduler.get_jobs()
        )

    try:
        # A fire the early finish left at its instant would be handed over again by the
        # round right after (it is past): before every job shows its next fire.
        deadline = loop.time() + 5
        while not settled() and loop.time() < deadline:
            await asyncio.sleep(0.02)
    finally:
        scheduler.shutdown(wait=False)

    assert len(handed) == JOBS, f"{JOBS - len(handed)} jobs never fired"
    twice = [key for key, count in handed.items() if count > 1]
    assert not twice, f"{len(twice)} fires handed over twice, e.g. {twice[0]}"
