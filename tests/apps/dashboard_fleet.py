"""A fleet for the dashboard's browser tests: the shipped container plus a cluster task that
always fails (its error text carries markup the pages must show as text) and a queue whose
jobs fail with a reason. Both run only when the env schedules them (SCHEDULE_DASH_FAIL,
SCHEDULE_DASH_JOBS).
"""

from __future__ import annotations

from typing import Any

from dependency_injector import providers

from container import Container as AppContainer
from worker import JobError, Queues, cron, current_fire, processor

QUEUE = "dash-jobs"
NEVER = "0 0 1 1 *"
MARKUP = '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">'
"""In the failing task's error: a page that does not escape it runs one or the other."""
REASON = "upstream rejected the batch (HTTP 422)"


class DashboardProbes:
    def __init__(self, queues: Queues) -> None:
        self._queues = queues

    @cron(NEVER, name="dash-fail")
    async def fail(self) -> None:
        raise RuntimeError(f"price feed answered {MARKUP}")

    @cron(NEVER, name=QUEUE)
    async def enqueue_batch(self) -> None:
        """One job per fire (its id the fire's: every replica's enqueue is the same job)."""
        fire = current_fire()
        await self._queues.add(QUEUE, "import-batch", {"batch": fire.stamp}, job_id=fire.id)

    @processor(QUEUE, name="import-batch")
    async def import_batch(self, data: dict[str, Any]) -> None:
        raise JobError(f"batch {data.get('batch')}: {REASON}", retry=False)


class Container(AppContainer):
    dashboard_probes = providers.Singleton(DashboardProbes, AppContainer.queues)
