"""A user's application whose task service cannot be built: its constructor raises.

Used by the end-to-end defect tests through `--app tests.apps.broken:Container`: start-up
must end with exit 78 and one line naming the provider, with Redis closed again.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from worker import FrameworkContainer, interval


class UnbuildableTasks:
    def __init__(self) -> None:
        raise RuntimeError("missing API key")

    @interval("1h", name="never-runs")
    async def never_runs(self) -> None:
        """Never called: the service is never created."""


@containers.copy(FrameworkContainer)
class Container(FrameworkContainer):
    unbuildable = providers.Singleton(UnbuildableTasks)
