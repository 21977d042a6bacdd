"""Per-fire lag, missed and doubled seconds of one program over the measured range."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass

from bench.messages import Message


def nearest_rank(ordered: list[float], fraction: float) -> float:
    """The value below which `fraction` of `ordered` lies (nearest-rank, no interpolation)."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class LagStats:
    """Receipt minus scheduled second, in milliseconds; None when no fire was received."""

    n: int
    median: float | None
    p99: float | None
    max: float | None
    mean: float | None

    @classmethod
    def of(cls, lags_ms: list[float]) -> LagStats:
        if not lags_ms:
            return cls(0, None, None, None, None)
        ordered = sorted(lags_ms)
        return cls(
            n=len(ordered),
            median=statistics.median(ordered),
            p99=nearest_rank(ordered, 0.99),
            max=ordered[-1],
            mean=statistics.fmean(ordered),
        )


@dataclass(frozen=True)
class Fires:
    """What one program delivered for the scheduled seconds of the measured range."""

    expected: int
    lags_ms: list[float]
    missed: list[int]
    doubled: list[int]

    @property
    def lag(self) -> LagStats:
        return LagStats.of(self.lags_ms)


def fires_in(messages: list[Message], seconds: range) -> Fires:
    """Every message for a second in `seconds`; a second with none is missed, two doubled."""
    inside = sorted((m for m in messages if m.second in seconds), key=lambda m: m.received)
    counts = Counter(m.second for m in inside)
    return Fires(
        expected=len(seconds),
        lags_ms=[m.lag_ms for m in inside],
        missed=[second for second in seconds if counts[second] == 0],
        doubled=[second for second in seconds if counts[second] > 1],
    )
