"""Every Redis key the framework writes, under KEY_PREFIX, named in one place.

The application's own keys (the trigger channel, `crypto:*`) are not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from worker.protocol import manual_claim_key, manual_owner_key


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

    @property
    def instances(self) -> str:
        """Sorted set: instance id → its last heartbeat (epoch ms), so readers find the records
        without a SCAN; each heartbeat drops ids whose record has expired."""
        return f"{self.prefix}instances"

    # Fleet (worker.cluster): every key a claim script touches carries the `{claims}` hash
    # tag, so Redis Cluster keeps them in one slot.
    @property
    def claim_tag(self) -> str:
        return f"{self.prefix}{{claims}}"

    def claim(self, task: str) -> str:
        """Hash: the task's high-water mark, its claimed fire, owner, lease deadline, done."""
        return f"{self.claim_tag}:claim:{task}"

    def manual_claim(self, token: str) -> str:
        """String: who claimed a manual fire (`worker trigger`, `run_now`), then its outcome
        (a `worker.protocol.ManualClaim`)."""
        return manual_claim_key(self.claim_tag, token)

    def manual_owner(self, token: str) -> str:
        """String: the replica that ran a manual fire, written when it ends (the claim's string
        then holds only `done:<outcome>`)."""
        return manual_owner_key(self.claim_tag, token)

    @property
    def leases(self) -> str:
        """Sorted set: recoverable tasks by lease deadline (ms, Redis clock)."""
        return f"{self.claim_tag}:leases"

    @property
    def paused(self) -> str:
        """Hash: task name → a `worker.protocol.PauseEntry` (fleet pause)."""
        return f"{self.prefix}paused"

    @property
    def control(self) -> str:
        """Channel: `worker.protocol.ControlMessage`s to every live replica."""
        return f"{self.prefix}control"

    def task_runs(self, task: str) -> str:
        """Stream of one task's runs (capped at RUN_HISTORY_PER_TASK, approximately)."""
        return f"{self.prefix}runs:{task}"

    @property
    def alerts(self) -> str:
        """Stream of alert events (capped, approximately), besides the ALERT_CHANNEL publish."""
        return f"{self.prefix}alerts"

    # Trigger target lanes (worker/targets): one hash per target, a field per instance.
    @property
    def target_pattern(self) -> str:
        return f"{self.prefix}target:*"

    def target(self, name: str) -> str:
        """Hash: instance id → JSON of that instance's lane for target `name` (last delivered
        fire, pending fire, failing since)."""
        return f"{self.prefix}target:{name}"
