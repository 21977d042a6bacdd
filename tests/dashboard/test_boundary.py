"""The dashboard's import boundary and packaging, as pyproject.toml declares them."""

from __future__ import annotations

import tomllib
from typing import Any

from tests.support import ROOT


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def worker_parts() -> set[str]:
    return {
        f"worker.{path.stem if path.is_file() else path.name}"
        for path in (ROOT / "worker").iterdir()
        if (path.suffix == ".py" and path.stem not in ("__init__", "__main__"))
        or (path.is_dir() and (path / "__init__.py").exists())
    }


def test_the_dashboard_may_import_no_part_of_the_framework_but_the_read_model() -> None:
    """A new worker subpackage must be forbidden to the dashboard too."""
    contracts = pyproject()["tool"]["importlinter"]["contracts"]
    contract = next(c for c in contracts if c.get("source_modules") == ["dashboard"])

    assert set(contract["forbidden_modules"]) == worker_parts() - {"worker.state"}
    assert "dashboard" in pyproject()["tool"]["importlinter"]["root_packages"]


def test_the_framework_never_imports_the_dashboard() -> None:
    contracts = pyproject()["tool"]["importlinter"]["contracts"]
    contract = next(c for c in contracts if c.get("source_modules") == ["worker"])

    assert "dashboard" in contract["forbidden_modules"]


def test_the_web_stack_is_an_extra_the_worker_does_not_install() -> None:
    """The worker image installs [project].dependencies only: no web server in it."""
    project = pyproject()["project"]
    names = {
        requirement.split(">")[0].split("<")[0].split("[")[0].split("=")[0].strip().lower()
        for requirement in project["dependencies"]
    }
    dashboard = project["optional-dependencies"]["dashboard"]

    assert {"starlette", "uvicorn", "jinja2"} <= {r.split(">")[0].lower() for r in dashboard}
    assert not names & {"starlette", "uvicorn", "jinja2"}
    assert set(dashboard) <= set(project["optional-dependencies"]["dev"])
