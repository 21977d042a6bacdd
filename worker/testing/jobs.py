"""One processor job, run as a bullmq Worker would run one attempt of it (no Redis queue)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker.app.hooks import resolve_provided
from worker.errors import UsageError
from worker.queues.job import Job
from worker.queues.runs import BoundProcessor, JobRuns

if TYPE_CHECKING:
    from worker.app.context import ApplicationContext
    from worker.app.parts import Parts


async def run_job(
    context: ApplicationContext,
    parts: Parts,
    queue: str,
    data: Any,
    *,
    attempt: int,
    job_id: str | None,
) -> Any:
    """The attempt's result; a failure goes up as the processor raised it (after its record:
    `retrying` while attempts are left, `failed` on the last one or a `retry=False`)."""
    found = next((p for p in context.discovery.processors if p.spec.queue == queue), None)
    if found is None:
        known = ", ".join(p.spec.queue for p in context.discovery.processors) or "none"
        raise UsageError(f"no processor for queue {queue!r} (queues: {known})")
    options = context.queue_options[queue]
    bound = BoundProcessor(
        name=found.name,
        queue=queue,
        handler=getattr(parts.services[found.provider], found.attribute),
        options=options,
    )
    runs: JobRuns = await resolve_provided(parts.container.job_runs())
    job = Job(
        id=job_id or f"test-{uuid.uuid4().hex[:8]}",
        attempt=attempt,
        queue=queue,
        name=found.name,
        attempts=options.attempts,
    )
    result, _ = await runs.attempt(bound, job, data, datetime.now(UTC))
    return result
