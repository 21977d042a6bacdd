"""Every Redis key the framework writes, under KEY_PREFIX, named in one place.

The application's own keys (the trigger channel, `crypto:*`) are not here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "worker:"

    @property
    def runs(self) -> str:
        """Stream of every run (capped at RUN_HISTORY_MAXLEN, approximately)."""
        return f"{self.prefix}runs"

    @property
    def task_summaries(self) -> str:
        """Hash: task name → JSON of its newest run that decides its state."""
        return f"{self.prefix}tasks"

    @property
    def instance_pattern(self) -> str:
        return f"{self.prefix}instance:*"

    def instance(self, instance_id: str) -> str:
        """This replica's record (JSON, TTL three heartbeat intervals)."""
        return f"{self.prefix}instance:{instance_id}"

    # Trigger target lanes (worker/targets): one hash per target, a field per instance.
    @property
    def target_pattern(self) -> str:
        return f"{self.prefix}target:*"

    def target(self, name: str) -> str:
        """Hash: instance id → JSON of that instance's lane for target `name` (last delivered
        fire, pending fire, failing since)."""
        return f"{self.prefix}target:{name}"
