"""`status`'s queues: each processor's queue, counts by state and its last failures."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.app.context import ApplicationContext
    from worker.state.read import FleetReader


async def read_queues(app: ApplicationContext, reader: FleetReader) -> list[dict[str, Any]]:
    names = [p.spec.queue for p in app.discovery.processors]
    return await reader.queues(app.settings.queue_prefix, names)


def queues_text(queues: list[dict[str, Any]]) -> str:
    if not queues:
        return ""
    header = ["QUEUE", "WAITING", "ACTIVE", "DELAYED", "COMPLETED", "FAILED"]
    rows = [[q["name"], *(str(q[state]) for state in map(str.lower, header[1:]))] for q in queues]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    for queue in queues:
        for failure in queue["last_failures"]:
            lines.append(
                f"  failed {queue['name']} {failure['id']} at {failure['failed_at'] or '-'} "
                f"after {failure['attempts'] or '?'} attempt(s): {failure['reason']}"
            )
    return "\n\n" + "\n".join(lines)
