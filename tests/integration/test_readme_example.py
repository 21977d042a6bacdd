"""The README's "Testing your tasks" example, run exactly as it is printed."""

from __future__ import annotations

import inspect
from typing import Any

from tests.support import ROOT

SECTION = "## Testing your tasks"


def readme_example() -> str:
    """The first python block of the section."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION) :]
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
