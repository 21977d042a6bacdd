"""When a failed attempt's retry comes: the job's backoff or the processor's `retry_after`,
each bounded, so every job ends and none is parked for ever.

bullmq reads the job's backoff when it moves a failed attempt to delayed; the handler sets it
(in memory only) to the one delay decided here. Bounds: a backoff step waits at most
`BACKOFF_MAX` (an exponential backoff doubles past a year by its 25th attempt), a
`retry_after` at most QUEUE_MAX_RETRY_AFTER; an unknown backoff kind (another producer's
custom strategy, which bullmq would fail to find, leaving the job active) takes the queue's.
"""

from __future__ import annotations

import math
from typing import Any

from worker.settings.queues import BACKOFF_MAX

MAX_DOUBLINGS = 64
"""An exponential step past this many doublings is far past `BACKOFF_MAX` anyway."""


def retry_delay(
    backoff: Any,
    attempt: int,
    *,
    fallback: float,
    retry_after: float | None,
    max_retry_after: float,
) -> float:
    """Seconds before the attempt after failed attempt `attempt` (1 = the first): the job's
    backoff (bullmq's `{"type", "delay"}` in ms, or a number of ms; `fallback` seconds when it
    is of no known kind) or the `retry_after` asked for, whichever is longer, each bounded."""
    planned = min(_backoff(backoff, attempt, fallback), BACKOFF_MAX)
    return max(planned, capped_retry_after(retry_after, max_retry_after))


def capped_retry_after(retry_after: float | None, max_retry_after: float) -> float:
    """`retry_after` held to [0, max_retry_after]; nothing sensible (None, NaN) counts as 0."""
    if retry_after is None or math.isnan(retry_after):
        return 0.0
    return min(max(retry_after, 0.0), max_retry_after)


def _backoff(backoff: Any, attempt: int, fallback: float) -> float:
    if backoff is None:
        return 0.0  # bullmq retries a job without a backoff at once
    kind, base = (
        (backoff.get("type"), backoff.get("delay"))
        if isinstance(backoff, dict)
        else (
            "fixed",
            backoff,
        )
    )
    if isinstance(base, bool) or not isinstance(base, int | float) or not base >= 0:
        return fallback
    seconds = min(float(base), BACKOFF_MAX * 1000) / 1000
    if kind == "fixed":
        return seconds
    if kind == "exponential":
        return float(seconds * 2 ** min(max(attempt - 1, 0), MAX_DOUBLINGS))
    return fallback
