"""A failed attempt's retry delay: the job's backoff or `retry_after`, each bounded; the
attempts a job gets, bounded too. Every job ends."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from worker.queues.retries import capped_retry_after, retry_delay

EXPONENTIAL_2S = {"type": "exponential", "delay": 2000}


def delay(backoff: Any, attempt: int, retry_after: float | None = None, cap: float = 3600) -> float:
    return retry_delay(backoff, attempt, fallback=7.0, retry_after=retry_after, max_retry_after=cap)


def test_the_backoff_is_bullmqs_exponential_or_fixed_schedule() -> None:
    assert [delay(EXPONENTIAL_2S, n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert delay({"type": "fixed", "delay": 500}, 3) == 0.5
    assert delay(1500, 2) == 1.5  # a number of ms is a fixed backoff
    assert delay(None, 2) == 0.0  # no backoff: bullmq retries at once


def test_no_backoff_step_waits_more_than_an_hour() -> None:
    """2 s doubled 99 times is 10^22 years: the 100th attempt would never come."""
    assert delay(EXPONENTIAL_2S, 12) == 3600.0
    assert delay(EXPONENTIAL_2S, 100) == 3600.0
    assert delay({"type": "fixed", "delay": 10**15}, 1) == 3600.0


def test_a_backoff_of_no_known_kind_takes_the_queues() -> None:
    """bullmq raised on a custom strategy it was not given: the job stayed active."""
    assert delay({"type": "custom", "delay": 1000}, 1) == 7.0
    assert delay({"type": "exponential", "delay": "soon"}, 1) == 7.0
    assert delay({"type": "fixed", "delay": -5}, 1) == 7.0


def test_a_retry_after_longer_than_the_backoff_is_waited_up_to_the_cap() -> None:
    assert delay(EXPONENTIAL_2S, 1, retry_after=30) == 30.0
    assert delay(EXPONENTIAL_2S, 2, retry_after=1) == 4.0
    assert delay(EXPONENTIAL_2S, 1, retry_after=99999) == 3600.0
    assert delay(EXPONENTIAL_2S, 1, retry_after=1e40) == 3600.0
    assert delay(EXPONENTIAL_2S, 1, retry_after=float("inf"), cap=60) == 60.0
    assert delay(EXPONENTIAL_2S, 1, retry_after=99999, cap=0) == 2.0


@pytest.mark.parametrize("asked", [None, float("nan"), -3.0])
def test_a_retry_after_of_no_sense_counts_for_nothing(asked: float | None) -> None:
    assert capped_retry_after(asked, 3600) == 0.0


@pytest.mark.parametrize(
    ("options", "attempts"),
    [({"attempts": 3}, 3), ({"attempts": 1000}, 100), ({"attempts": 0}, 1), ({}, 1), (None, 1)],
)
def test_a_job_gets_the_attempts_it_asks_for_within_1_to_100(
    options: dict[str, Any] | None, attempts: int
) -> None:
    from worker.queues.reading import job_of

    raw = SimpleNamespace(id="j", name="n", opts=options, attemptsMade="2")
    found = job_of(raw, "q")
    assert (found.attempts, found.attempt) == (attempts, 3)
