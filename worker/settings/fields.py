"""Field types for settings classes, the framework's and an application's own.

`sync_max_delay: Duration = 30.0` reads `SYNC_MAX_DELAY=30`, `500ms`, `30s`, `15m` or `1h`
as seconds (>= 0); anything else is one line naming the variable (exit 78).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

from worker.settings.durations import parse_duration

_NOT_A_DURATION = "not a duration (expected seconds or Nms/Ns/Nm/Nh)"


def _duration(value: object) -> float:
    if not isinstance(value, str | int | float):
        raise ValueError(_NOT_A_DURATION)
    return parse_duration(value)


Duration = Annotated[float, BeforeValidator(_duration)]
