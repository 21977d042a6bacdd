"""The `TriggerPublisher` seam: what a task calls to send a trigger.

The framework's publisher is the fan-out (`worker.targets.fanout.TriggerFanout`): it hands
the payload to every configured target's delivery lane and returns once each has accepted
it; lanes retry, fold newer fires and keep `id` the same on every resend. Tests replace it
with anything that has this one method.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class TriggerPublisher(Protocol):
    """Takes one trigger payload (with `id` and `scheduled_for`) for delivery."""

    async def publish(self, payload: Mapping[str, Any]) -> None: ...
