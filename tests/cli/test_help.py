"""How `--help` reads: the global examples once (in `worker --help`), every command's own
exit codes in its help, `--app` offered where it means something, and help as cheap as
`health` (no application, no pydantic). Real `python -m worker` processes, no Redis."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, worker_env
from worker.cli.commands import COMMANDS

UNREACHABLE = "redis://127.0.0.1:1/0"
NAMES = [command.name for command in COMMANDS]


def worker(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        cwd=cwd,
        env=worker_env(UNREACHABLE, **env),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_worker_help_ends_with_examples_and_points_at_the_settings(tmp_path: Path) -> None:
    helped = worker(tmp_path, "--help")

    assert helped.returncode == 0, helped.stderr
    text = helped.stdout
    tail = text.rstrip().splitlines()
    examples = tail.index("examples:")
    assert all(line.startswith("  ") and "worker" in line for line in tail[examples + 1 :])
    assert "worker run-task crypto-trigger" in text[text.index("examples:") :]
    before_examples = " ".join(text[: text.index("examples:")].split())
    assert "applies to every command" in before_examples
    assert "--app" in before_examples
    assert "settings table in README.md" in before_examples
    assert "each command's --help gives its own" in before_examples
    assert all(f"    {name} " in text for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_commands_help_gives_its_exit_codes_and_no_global_examples(
    tmp_path: Path, name: str
) -> None:
    helped = worker(tmp_path, name, "--help")

    assert helped.returncode == 0, helped.stderr
    text = helped.stdout
    assert text.startswith(f"usage: worker {name} ")
    assert "examples:" not in text
    assert "worker run-task crypto-trigger" not in text
    codes = " ".join(text[text.index("exit codes: ") :].split("\n\n")[0].split())
    assert re.match(r"exit codes: 0\b", codes), codes
    if name != "health":
        assert "settings table in README.md" in text
        assert "--app MODULE:ATTR" in text


def test_the_exit_codes_shown_are_those_the_readme_lists(tmp_path: Path) -> None:
    """Every code README's Commands table gives a command appears in that command's help."""
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Commands") :].split("\n\n")[1]
    for command in COMMANDS:
        named = re.compile(rf"worker {command.name}(?![\w-])|`{command.name} ")
        row = next(line for line in table.splitlines() if named.search(line.split("|")[1]))
        documented = set(re.findall(r"\b(0|1|2|69|78)\b", row.split("|")[-2]))
        shown = set(re.findall(r"\b(0|1|2|69|78)\b", command.exits))
        assert documented <= shown | {"2"}, (command.name, documented, shown)


def test_health_help_offers_no_app_which_health_still_accepts(tmp_path: Path) -> None:
    helped = worker(tmp_path, "health", "--help")

    assert helped.returncode == 0
    assert "--app" not in helped.stdout
    assert "--ready" in helped.stdout
    missing = str(tmp_path / "none")
    for args in (
        ("--app", "nowhere:Container", "health"),
        ("health", "--app", "nowhere:Container"),
        ("health", "--app=nowhere:Container", "--ready"),
        ("health", "--ready", "--app", "nowhere:Container"),
    ):
        probed = worker(tmp_path, *args, HEARTBEAT_FILE=missing)
        assert probed.returncode == 1, (args, probed.stderr)
        assert probed.stdout == f"unhealthy: no heartbeat file at {missing}\n"


@pytest.mark.parametrize("args", [("--help",), ("health", "--help"), ("--version",)])
def test_help_and_version_load_no_application_and_no_pydantic(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    script = (
        "import sys\n"
        "from worker.cli.main import main\n"
        f"try:\n    main({list(args)!r})\nexcept SystemExit:\n    pass\n"
        "heavy = ('pydantic', 'apscheduler', 'dependency_injector', 'redis', 'loguru',"
        " 'container', 'tasks', 'config')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy"
        " or m.startswith(('worker.app', 'worker.settings'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr
