"""A user's application whose task service cannot be built: its constructor raises.

Used by the end-to-end defect tests through `--app tests.apps.broken:Container`: start-up
must end with exit 78 and one line naming the provider, with Redis closed again.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

from dependency_injector import containers, providers

from worker import FrameworkContainer, interval


async def failing_resource() -> AsyncIterator[None]:
    """A client whose set-up fails (a bad API key, a refused handshake)."""
    if os.environ.get("BROKEN_RESOURCE"):
        raise RuntimeError("handshake refused")
    yield None


class UnbuildableTasks:
    def __init__(self) -> None:
        raise RuntimeError("missing API key")

    @interval("1h", name="never-runs")
    async def never_runs(self) -> None:
        """Never called: the service is never created."""


@containers.copy(FrameworkContainer)
class Container(FrameworkContainer):
    api_client = providers.Resource(failing_resource)
    unbuildable = providers.Singleton(UnbuildableTasks)
