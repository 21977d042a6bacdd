"""The context's queue side: each discovered processor bound to its service and options."""

from __future__ import annotations

from typing import TYPE_CHECKING

from worker.app.hooks import resolve_provided
from worker.queues.options import QueueOptions, resolve_options
from worker.queues.processors import Processors
from worker.queues.runs import BoundProcessor

if TYPE_CHECKING:
    from worker.app.discovery import Discovery
    from worker.app.parts import Parts
    from worker.settings.base import WorkerSettings


def queue_options(discovery: Discovery, settings: WorkerSettings) -> dict[str, QueueOptions]:
    """Every processor's queue with its options; a QUEUE_<NAME>_* naming none → exit 78."""
    queues = {p.spec.queue: p.spec.concurrency for p in discovery.processors}
    return resolve_options(queues, settings.queue_overrides)


async def bound_processors(
    parts: Parts, discovery: Discovery, options: dict[str, QueueOptions]
) -> Processors:
    """The container's `processors`, bound to the running services' methods."""
    processors: Processors = await resolve_provided(parts.container.processors())
    processors.bind(
        [
            BoundProcessor(
                name=found.name,
                queue=found.spec.queue,
                handler=getattr(parts.services[found.provider], found.attribute),
                options=options[found.spec.queue],
            )
            for found in discovery.processors
        ]
    )
    return processors
