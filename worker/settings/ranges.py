"""The range of every numeric framework setting, in one table.

Each field's own validator reads what was written (a number, `500ms`, `15m`); the settings
class then holds every value to its range here, one line naming the variable (exit 78).
README's settings table shows the same ranges (a test compares them).
"""

from __future__ import annotations

from dataclasses import dataclass

from worker.settings.durations import format_duration

__all__ = ["RANGES", "Range", "out_of_range"]


@dataclass(frozen=True, slots=True)
class Range:
    """Inclusive bounds; `duration` ones are seconds, shown as `500ms`, `30s`, `5m`."""

    low: float
    high: float
    duration: bool = False
    zero_means: str = ""  # e.g. "none": 0 is allowed below `low` and means that

    def problem(self, value: float) -> str | None:
        """None when the value is in range, else the sentence an error gives."""
        if self.zero_means and value == 0:
            return None
        if self.low <= value <= self.high:
            return None
        return f"must be {self.text()}"

    def text(self) -> str:
        """As an error says it: `between 1s and 5m`, `0 (none) or between 1ms and 7 days`."""
        spread = f"between {self._show(self.low)} and {self._show(self.high)}"
        return f"0 ({self.zero_means}) or {spread}" if self.zero_means else spread

    def span(self) -> str:
        """As README's settings table shows it: `1s`, an en dash, `5m` (`0 (none) or` first when
        0 means something)."""
        spread = f"{self._show(self.low)} \N{EN DASH} {self._show(self.high)}"
        return f"0 ({self.zero_means}) or {spread}" if self.zero_means else spread

    def _show(self, number: float) -> str:
        if self.duration:
            days = number / _DAY
            return f"{days:g} days" if days > 1 and days == int(days) else format_duration(number)
        return f"{int(number):,}" if number == int(number) else f"{number:g}"


_DAY = 86400.0
RANGES: dict[str, Range] = {
    "shutdown_timeout": Range(0.1, 3600.0, duration=True),
    "heartbeat_interval": Range(1.0, 300.0, duration=True),
    "run_history_maxlen": Range(1, 10_000_000),
    "misfire_grace": Range(0.001, _DAY, duration=True),
    "task_time_limit": Range(0.001, 7 * _DAY, duration=True, zero_means="none"),
    "alert_after_failures": Range(0, 1000),
    "outage_log_interval": Range(1.0, 3600.0, duration=True),
    "redis_timeout": Range(0.1, 60.0, duration=True),
    "claim_lease": Range(1.0, 300.0, duration=True),
    "claim_skew": Range(0.0, 60.0, duration=True),
    "claim_max_recoveries": Range(0, 100),
    "run_history_per_task": Range(1, 100_000),
    "jetstream_max_age": Range(1.0, 366 * _DAY, duration=True),
    "crypto_stream_maxlen": Range(1, 10_000_000),
    "pubsub_catchup_wait": Range(0.0, 60.0, duration=True),
    # Below 1 s a loop held for half a second (a GC, a blocking call) loses a live job's
    # lock and the job runs twice; above 1 h a dead replica's jobs wait hours to be taken up.
    "queue_lock_duration": Range(1.0, 3600.0, duration=True),
    # 0 ignores `Retry-After`; a day is the longest a retry is parked.
    "queue_max_retry_after": Range(0.0, _DAY, duration=True),
}
"""Field name → its range; a per-task TASK_TIME_LIMIT_<TASK> has TASK_TIME_LIMIT's."""


def out_of_range(values: dict[str, float]) -> tuple[str, str] | None:
    """The first (VARIABLE, problem) among the given field values, or None."""
    for name, value in values.items():
        bounds = RANGES.get(name)
        problem = bounds.problem(value) if bounds is not None else None
        if problem is not None:
            return name.upper(), problem
    return None
