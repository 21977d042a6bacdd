"""Every numeric setting has a range, held at start with one line naming the variable; an
error quotes a bad value only when it is short (a password pasted into the wrong setting
never reaches the output); README's settings table shows the ranges the code holds."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.settings.support import load
from tests.support import WorkerProcess
from worker.errors import ConfigError
from worker.settings.durations import MAX_SECONDS, format_duration
from worker.settings.ranges import RANGES, Range

Spawn = Callable[..., WorkerProcess]
README = Path(__file__).resolve().parents[2] / "README.md"
SECRET = "abcZq9SECRETpw77"  # 16 characters: a password pasted where it does not belong


def _written(bounds: Range, value: float) -> str:
    return format_duration(value) if bounds.duration else str(int(value))


def _beyond(bounds: Range) -> list[float]:
    step = 0.001 if bounds.duration else 1
    below = [bounds.low - step] if bounds.low - step > 0 and not bounds.zero_means else []
    if bounds.zero_means and bounds.low > step:
        below = [bounds.low / 2]
    return [*below, bounds.high + step]


@pytest.mark.parametrize("name", sorted(RANGES))
def test_each_bound_is_accepted_and_a_value_beyond_it_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    bounds = RANGES[name]
    variable = name.upper()
    for value in (bounds.low, bounds.high):
        settings = load(monkeypatch, **{variable: _written(bounds, value)})
        assert getattr(settings, name) == pytest.approx(value)
    for value in _beyond(bounds):
        monkeypatch.setenv(variable, _written(bounds, value) if not bounds.duration else str(value))
        with pytest.raises(ConfigError) as caught:
            load(monkeypatch)
        message = str(caught.value)
        if bounds.duration and value > MAX_SECONDS:  # beyond what any duration may be
            assert message.startswith(f"{variable}: ")
            assert "(at most 366 days)" in message
        else:
            assert message == f"{variable}: must be {bounds.text()}"
        monkeypatch.delenv(variable)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CLAIM_LEASE", "0.5", "CLAIM_LEASE: must be between 1s and 5m"),
        ("CLAIM_LEASE", "301", "CLAIM_LEASE: must be between 1s and 5m"),
        ("CLAIM_SKEW", "61", "CLAIM_SKEW: must be between 0s and 1m"),
        ("REDIS_TIMEOUT", "50ms", "REDIS_TIMEOUT: must be between 100ms and 1m"),
        ("REDIS_TIMEOUT", "61", "REDIS_TIMEOUT: must be between 100ms and 1m"),
        ("HEARTBEAT_INTERVAL", "0.5", "HEARTBEAT_INTERVAL: must be between 1s and 5m"),
        ("HEARTBEAT_INTERVAL", "301", "HEARTBEAT_INTERVAL: must be between 1s and 5m"),
        (
            "TASK_TIME_LIMIT",
            "8d",
            "TASK_TIME_LIMIT: '8d' is not a duration (expected seconds or Nms/Ns/Nm/Nh)",
        ),
        ("TASK_TIME_LIMIT", "200h", "TASK_TIME_LIMIT: must be 0 (none) or between 1ms and 7 days"),
        (
            "TASK_TIME_LIMIT_CLEANUP",
            "169h",
            "TASK_TIME_LIMIT_CLEANUP: must be 0 (none) or between 1ms and 7 days",
        ),
        ("RUN_HISTORY_MAXLEN", "0", "RUN_HISTORY_MAXLEN: must be between 1 and 10,000,000"),
        ("ALERT_AFTER_FAILURES", "1001", "ALERT_AFTER_FAILURES: must be between 0 and 1,000"),
        ("HEALTH_MEMORY_LIMIT_MB", "2000000", "HEALTH_MEMORY_LIMIT_MB: must be <= 1048576"),
        ("CLEANUP_RETENTION_DAYS", "4000", "CLEANUP_RETENTION_DAYS: must be <= 3650"),
        ("SYNC_MAX_DELAY", "2h", "SYNC_MAX_DELAY: must be <= 3600"),
    ],
)
def test_out_of_range_is_one_line_naming_the_variable_and_its_range(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(monkeypatch, **{variable: value})
    assert str(caught.value) == expected


@pytest.mark.parametrize(
    "variable",
    [
        "CLAIM_LEASE",
        "CLAIM_SKEW",
        "SHUTDOWN_TIMEOUT",
        "REDIS_TIMEOUT",
        "MISFIRE_GRACE",
        "TASK_TIME_LIMIT",
        "TASK_TIME_LIMIT_CLEANUP",
        "JETSTREAM_MAX_AGE",
        "PUBSUB_CATCHUP_WAIT",
        "SYNC_MAX_DELAY",
        "WORKER_TIMEZONE",
        "REDIS_SENTINELS",
        "TRIGGER_TARGETS",
        "WORKER_ROLES",
        "RUN_HISTORY_MAXLEN",
        "ALERT_AFTER_FAILURES",
    ],
)
def test_a_password_pasted_into_a_setting_is_not_echoed(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(monkeypatch, **{variable: SECRET})
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert "SECRET" not in message
    assert "\n" not in message


def test_a_short_bad_value_is_still_quoted(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as caught:
        load(monkeypatch, CLAIM_LEASE="5x")
    assert str(caught.value).startswith("CLAIM_LEASE: '5x' is not a duration")
    with pytest.raises(ConfigError) as caught:
        load(monkeypatch, CLAIM_LEASE="a" * 13)
    assert str(caught.value).startswith("CLAIM_LEASE: a value of 13 characters is not a duration")


def test_a_password_pasted_into_a_schedule_or_the_task_list_is_not_echoed(
    spawn_worker: Spawn,
) -> None:
    for env in (
        {"SCHEDULE_CLEANUP": f"@{SECRET}"},
        {"SCHEDULE_CLEANUP": f"{SECRET} * * * *"},
        {"DISABLED_TASKS": SECRET},
        {"WORKER_APP": SECRET},
    ):
        worker = spawn_worker("check", **env)
        assert worker.wait() == 78, env
        assert "SECRET" not in worker.stdout + worker.stderr, env
        name = next(iter(env))
        assert len(worker.stderr.strip().splitlines()) == 1, worker.stderr
        assert name in worker.stderr, worker.stderr


def test_an_out_of_range_setting_stops_run_with_78_and_one_line(spawn_worker: Spawn) -> None:
    worker = spawn_worker(CLAIM_LEASE="301")
    assert worker.wait() == 78
    assert worker.stderr.strip() == "worker: error: CLAIM_LEASE: must be between 1s and 5m"


def _table_ranges() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| variable | default | range | meaning |") :]
    table = table[: table.index("\n\n")]
    found: dict[str, str] = {}
    for row in table.splitlines()[2:]:
        cells = [cell.strip() for cell in row.strip("|").split(" | ")]
        for variable in re.findall(r"[A-Z][A-Z0-9_]+", cells[0].replace("&lt;TASK&gt;", "")):
            found.setdefault(variable, cells[2])
    return found


def test_readme_settings_table_shows_the_range_the_code_holds() -> None:
    shown = _table_ranges()
    for name, bounds in RANGES.items():
        assert shown.get(name.upper()) == bounds.span(), name
