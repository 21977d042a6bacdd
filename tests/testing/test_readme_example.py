"""The README's examples, run exactly as they are printed."""

from __future__ import annotations

import asyncio
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from dependency_injector import providers

from tests.support import ROOT
from worker import FrameworkContainer, Service
from worker.testing import WorkerTestApp

SECTION = "## Testing your tasks"
MYPY_FLAGS = ("--follow-imports=silent", "--enable-error-code", "explicit-override")
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


def named_examples() -> dict[str, str]:
    """README's python blocks that open with their file's name (`# reports.py …`)."""
    text = (ROOT / "README.md").read_text()
    files = {}
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        first = block.splitlines()[0]
        if match := re.fullmatch(r"# ([\w/]+\.py)\b.*", first):
            assert match.group(1) not in files, f"two README examples named {match.group(1)}"
            files[match.group(1)] = block
    return files


def test_the_readme_examples_pass_the_projects_own_type_check(tmp_path: Path) -> None:
    """A user who copies them into a project checked with `mypy --strict` gets no error."""
    examples = named_examples()
    assert {
        *("reports.py", "my_container.py", "archive.py", "archive_container.py"),
        *("feeds.py", "feeds_container.py", "tests/test_crypto.py", "tests/conftest.py"),
    } <= set(examples)
    for name, block in examples.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(block)
    (tmp_path / "tests" / "__init__.py").write_text("")
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", *MYPY_FLAGS, *examples],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(ROOT), "MYPY_CACHE_DIR": str(tmp_path / ".cache")},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


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


def test_a_misspelt_hook_of_a_service_is_a_type_error(tmp_path: Path) -> None:
    """`@override` on a hook the base class does not have: mypy says so (the hook would
    otherwise be a new method, never started nor closed)."""
    (tmp_path / "feed.py").write_text(
        "from typing_extensions import override\n\n"
        "from worker import Service\n\n\n"
        "class Feed(Service):\n"
        "    @override\n"
        "    async def strat(self) -> None: ...\n"
    )
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", *MYPY_FLAGS, "feed.py"],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(ROOT), "MYPY_CACHE_DIR": str(tmp_path / ".cache")},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert checked.returncode == 1
    assert '"strat" is marked as an override, but no base method was found' in checked.stdout
