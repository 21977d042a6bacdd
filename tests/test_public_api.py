"""The public API: what applications may import, and what the framework never imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import worker
from tests.support import ROOT

PUBLIC = {"worker", "worker.testing"}
APPLICATION = {"tasks", "config", "container", "dashboard", "tests"}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_container_py_imports_only_the_public_api_of_the_framework() -> None:
    # container.py is a single-file module: import-linter cannot take it as a root package.
    framework = {m for m in imported_modules(ROOT / "container.py") if m.split(".")[0] == "worker"}
    assert framework <= PUBLIC, f"container.py imports framework internals: {framework - PUBLIC}"


def test_the_framework_never_imports_container_py_or_the_application() -> None:
    for path in (ROOT / "worker").rglob("*.py"):
        tops = {module.split(".")[0] for module in imported_modules(path)}
        assert not tops & APPLICATION, f"{path.relative_to(ROOT)} imports {tops & APPLICATION}"


@pytest.mark.parametrize("name", sorted(set(worker.__all__) - {"__version__"}))
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(worker, name) is not None


def test_the_queue_names_are_public() -> None:
    assert {"processor", "current_job", "Queues", "JobError", "enqueue_args"} <= set(worker.__all__)


def test_an_unknown_public_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = worker.no_such_name


def test_the_health_probe_loads_no_application_pydantic_or_apscheduler(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from worker.cli.main import main\n"
        "main(['health'])\n"
        "heavy = ('pydantic', 'apscheduler', 'dependency_injector', 'redis', 'loguru',"
        " 'container', 'tasks', 'config')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"HEARTBEAT_FILE": str(tmp_path / "none"), "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


def test_the_import_contract_forbids_every_internal_part_of_the_framework() -> None:
    """A new subpackage (worker/cluster, worker/queues) must be forbidden to applications too."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(
        c for c in config["contracts"] if set(c.get("source_modules", ())) == {"tasks", "config"}
    )
    parts = {
        f"worker.{path.stem if path.is_file() else path.name}"
        for path in (ROOT / "worker").iterdir()
        if (path.suffix == ".py" and path.stem not in ("__init__", "__main__"))
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    allowed = {"worker.testing"}
    assert set(contract["forbidden_modules"]) == parts - allowed


def test_the_worker_console_script_points_at_the_cli_main_function() -> None:
    """The image's HEALTHCHECK runs `worker health`: a script pointing at a module fails."""
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module_name, _, attribute = scripts["worker"].partition(":")
    import importlib

    target = getattr(importlib.import_module(module_name), attribute)
    assert callable(target)
    assert target.__module__ == "worker.cli.main"


def test_one_settings_object_of_the_apps_class_serves_every_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With two, the random default instance id differed between the `ready` line and the
    instance record, status and run records."""
    from config import Settings
    from container import Container

    monkeypatch.delenv("WORKER_INSTANCE_ID", raising=False)
    container = Container()
    settings = container.settings()
    assert type(settings) is Settings
    assert container.instance().id == settings.worker_instance_id


def test_trigger_publisher_is_the_one_targets_seam_and_the_fanout_fits_it() -> None:
    """Tasks publish through `TriggerPublisher`; which targets deliver is the container's
    business (TRIGGER_TARGETS), so no target class or retry helper is public."""
    import inspect

    from worker.targets.fanout import TriggerFanout

    assert "TriggerPublisher" in worker.__all__
    assert not {"RedisTriggerPublisher", "publish_fire"} & set(worker.__all__)
    seam = inspect.signature(worker.TriggerPublisher.publish)
    assert inspect.signature(TriggerFanout.publish).parameters.keys() == seam.parameters.keys()


def test_the_default_worker_does_not_import_nats() -> None:
    """Start-up time and idle RSS are benchmarked: nats-py loads only for a NATS target."""
    script = (
        "import sys, asyncio\n"
        "from container import Container\n"
        "async def main():\n"
        "    container = Container()\n"
        "    await container.init_resources()\n"
        "    await container.publisher()\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'nats'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "REDIS_URL": "redis://127.0.0.1:1/0"},
        check=False,
    )
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr
