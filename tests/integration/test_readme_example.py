"""The README's examples, run exactly as they are printed."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from dependency_injector import providers

from tests.support import ROOT
from worker import FrameworkContainer, Service
from worker.testing import WorkerTestApp

SECTION = "## Testing your tasks"
SERVICES = "### Long-running services"


def readme_example(section: str = SECTION) -> str:
    """The first python block of the section."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(section) :]
    start = section.index("```python\n") + len("```python\n")
    return section[start : section.index("```", start)]


async def test_the_readme_testing_example_passes(redis_url: str) -> None:
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert len(tests) == 1
    fixtures = {"redis_url": redis_url}
    for test in tests:
        arguments = {name: fixtures[name] for name in inspect.signature(test).parameters}
        await test(**arguments)


async def test_the_readme_service_example_runs_beside_the_tasks_until_closed(
    redis_url: str,
) -> None:
    namespace: dict[str, Any] = {"__name__": "readme_service"}
    exec(compile(readme_example(SERVICES), "README.md", "exec"), namespace)
    feed_class = namespace["PriceFeed"]
    assert issubclass(feed_class, Service)

    class Container(FrameworkContainer):
        feed = providers.Singleton(feed_class, FrameworkContainer.redis)
        app_services = providers.List(feed)

    async with WorkerTestApp(Container, env={"REDIS_URL": redis_url}) as app:
        feed = await app.service("feed")
        client = await app.service("redis")
        await client.set("prices:latest", "42")
        async with asyncio.timeout(5):
            while feed.latest != b"42":
                await asyncio.sleep(0.02)
        following = feed._task
        assert following is not None
        assert not following.done()
    assert following.done(), "closed with the application"
