"""Trigger targets in `check` (reach each one) and `status` (each target's lanes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.settings.base import WorkerSettings
    from worker.state.read import FleetReader


async def check_targets(settings: WorkerSettings, timeout: float) -> str:
    """Reach every configured target within `timeout` (Redis ones share the Redis `check`
    reached); 69 names the unreachable one, 78 a refused login. Returns a summary."""
    if settings.uses_nats:
        from worker.connect.nats import reach_nats

        await reach_nats(
            settings.nats_servers(),
            where=settings.safe_nats_url(),
            timeout=timeout,
            jetstream="jetstream" in settings.targets,
        )
    where = f", nats reachable at {settings.safe_nats_url()}" if settings.uses_nats else ""
    return f"targets {','.join(settings.targets)}{where}"


async def target_status(
    reader: FleetReader, settings: WorkerSettings, instances: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per target: last delivered fire (anywhere), pending fires and failing since (live
    replicas only)."""
    from worker.state.target_status import merge_lanes

    lanes = await reader.target_lanes()
    live = {str(i.get("id")) for i in instances}
    return merge_lanes(settings.targets, lanes, live)


def targets_text(targets: list[dict[str, Any]]) -> str:
    lines = ["targets:"]
    for t in targets:
        pending = ", ".join(
            f"{p['fire']} (missed {p['missed']}, on {p['instance']})" for p in t["pending"]
        )
        lines.append(
            f"  {t['name']}  last delivered={t['last_delivered'] or '-'}"
            f" at {t['delivered_at'] or '-'}  pending={pending or '-'}"
            f"  failing since={t['failing_since'] or '-'}"
        )
    return "\n".join(lines)
