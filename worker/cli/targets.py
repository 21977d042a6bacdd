"""Trigger targets in `check` (reach each one) and `status` (each target's lanes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nats.aio.client import Client

    from worker.settings.base import WorkerSettings
    from worker.state.read import FleetReader
    from worker.targets.stream_plan import Plan


async def check_targets(settings: WorkerSettings, timeout: float) -> str:
    """Reach every configured target within `timeout` (Redis ones share the Redis `check`
    reached); 69 names the unreachable one, 78 a refused login or a JetStream stream that
    cannot take the publishes (its warnings printed as `run` would log them). Returns a
    summary."""
    where, stream = "", ""
    if settings.uses_nats:
        from worker.connect.nats_reach import reach_nats

        jetstream = "jetstream" in settings.targets
        plan = await reach_nats(
            settings.nats_servers(),
            where=settings.safe_nats_url(),
            timeout=timeout,
            jetstream=jetstream,
            then=(lambda nc: _survey(settings, nc, timeout)) if jetstream else None,
        )
        where = f", nats reachable at {settings.safe_nats_url()}"
        if plan is not None:
            for note in plan.notes:
                print(f"warning: {note.line()}")
            stream = f", {plan.summary(settings.crypto_subject)}"
    return f"targets {','.join(settings.targets)}{where}{stream}"


async def _survey(settings: WorkerSettings, nc: Client, timeout: float) -> Plan:
    from worker.targets.stream_plan import Wanted
    from worker.targets.streams import survey

    wanted = Wanted(
        settings.crypto_subject,
        settings.jetstream_stream,
        settings.jetstream_max_age,
        settings.manage_stream,
    )
    return await survey(nc, wanted, timeout)


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
