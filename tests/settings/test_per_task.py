"""The per-task source: SCHEDULE_<TASK> and TASK_TIME_LIMIT_<TASK>, from the environment or
`.env`, whatever the case; their errors name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Settings
from tests.settings.support import load
from worker.errors import ConfigError
from worker.settings import load_settings, task_env_key


@pytest.mark.parametrize(
    ("task", "key"), [("crypto-trigger", "CRYPTO_TRIGGER"), ("cleanup", "CLEANUP")]
)
def test_task_env_key_upper_cases_and_turns_dashes_into_underscores(task: str, key: str) -> None:
    assert task_env_key(task) == key


def test_per_task_settings_from_dotenv_accept_lower_case_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("schedule_cleanup=1h\ntask_time_limit_health_check=30s\n")

    settings = load(monkeypatch)

    assert settings.task_schedules == {"CLEANUP": "1h"}
    assert settings.task_time_limits == {"HEALTH_CHECK": 30.0}


def test_per_task_environment_beats_dotenv_whatever_the_case(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "SCHEDULE_CLEANUP=1h\nSCHEDULE_CRYPTO_TRIGGER=5m\nTASK_TIME_LIMIT_CLEANUP=1m\n"
    )

    settings = load(monkeypatch, schedule_cleanup="2h", task_time_limit_cleanup="90s")

    assert settings.task_schedules == {"CLEANUP": "2h", "CRYPTO_TRIGGER": "5m"}
    assert settings.task_time_limits == {"CLEANUP": 90.0}


@pytest.mark.parametrize("where", ["environment", ".env"])
def test_bad_per_task_time_limit_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, where: str
) -> None:
    if where == ".env":
        (tmp_path / ".env").write_text("TASK_TIME_LIMIT_CLEANUP=abc\n")
    else:
        monkeypatch.setenv("TASK_TIME_LIMIT_CLEANUP", "abc")

    with pytest.raises(ConfigError) as caught:
        load_settings(Settings)

    message = str(caught.value)
    assert message.startswith("TASK_TIME_LIMIT_CLEANUP: ")
    assert "'abc' is not a duration" in message
    assert "\n" not in message
    assert caught.value.__cause__ is None


@pytest.mark.parametrize("key", ["SCHEDULE_", "TASK_TIME_LIMIT_", "schedule_"])
@pytest.mark.parametrize("where", ["environment", ".env"])
def test_a_prefix_without_a_task_names_no_task(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key: str, where: str
) -> None:
    if where == ".env":
        (tmp_path / ".env").write_text(f"{key}=x\n")
    else:
        monkeypatch.setenv(key, "x")

    with pytest.raises(ConfigError, match=rf"^{key}: names no task$"):
        load_settings(Settings)


def test_empty_per_task_value_in_dotenv_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("TASK_TIME_LIMIT_CLEANUP=\n")

    with pytest.raises(ConfigError, match=r"^TASK_TIME_LIMIT_CLEANUP: must not be empty$"):
        load(monkeypatch)
