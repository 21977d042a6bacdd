"""Settings: defaults, sources (env, `.env`), validation messages, secrets, overrides."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config import Settings
from tests.settings.support import load
from worker.errors import ConfigError
from worker.settings import WorkerSettings, load_settings

PASSWORD = "s3cretpw"


def test_defaults_match_the_design_table(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch)

    assert settings.redis_url_value() == "redis://localhost:6379/0"
    assert settings.log_level == "INFO"
    assert settings.log_format == "text"
    assert settings.worker_app == "container:Container"
    assert settings.tz == ZoneInfo("UTC")
    assert settings.shutdown_timeout == 30.0
    assert settings.disabled == ()
    assert settings.heartbeat_file == Path("/tmp/worker.heartbeat")
    assert settings.heartbeat_interval == 10.0
    assert settings.key_prefix == "worker:"
    assert settings.run_history_maxlen == 100_000
    assert settings.misfire_grace == 60.0
    assert settings.task_time_limit == 0.0
    assert settings.alert_after_failures == 3
    assert settings.outage_log_interval == 30.0
    assert settings.alert_channel == "worker:alerts"
    assert settings.alert_webhook_url is None
    assert settings.crypto_channel == "crypto-update"
    assert settings.health_memory_limit_mb == 500
    assert settings.cleanup_retention_days == 30
    assert settings.task_schedules == {}
    assert settings.task_time_limits == {}
    assert settings.metrics_port is None
    assert settings.metrics_addr == "127.0.0.1"


def test_default_instance_id_is_host_pid_and_random_hex(monkeypatch: pytest.MonkeyPatch) -> None:
    instance_id = load(monkeypatch).worker_instance_id

    assert re.fullmatch(
        rf"{re.escape(socket.gethostname())}-{os.getpid()}-[0-9a-f]{{4}}", instance_id
    )


def test_env_var_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load(monkeypatch, log_level="debug").log_level == "DEBUG"


def test_log_format_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load(monkeypatch, LOG_FORMAT="JSON").log_format == "json"


def test_dotenv_in_working_directory_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "CRYPTO_CHANNEL=from-dotenv\n"
        "SCHEDULE_CRYPTO_TRIGGER=*/5 * * * *\n"
        "TASK_TIME_LIMIT_HEALTH_CHECK=15s\n"
    )

    settings = load(monkeypatch)

    assert settings.crypto_channel == "from-dotenv"
    assert settings.task_schedules == {"CRYPTO_TRIGGER": "*/5 * * * *"}
    assert settings.task_time_limits == {"HEALTH_CHECK": 15.0}


def test_env_beats_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "CRYPTO_CHANNEL=from-dotenv\nSCHEDULE_CLEANUP=1h\nTASK_TIME_LIMIT_CLEANUP=1m\n"
    )

    settings = load(
        monkeypatch,
        CRYPTO_CHANNEL="from-env",
        SCHEDULE_CLEANUP="0 4 * * *",
        TASK_TIME_LIMIT_CLEANUP="2m",
    )

    assert settings.crypto_channel == "from-env"
    assert settings.task_schedules == {"CLEANUP": "0 4 * * *"}
    assert settings.task_time_limits == {"CLEANUP": 120.0}


def test_dotenv_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CRYPTO_CHANNEL=from-dotenv\nSCHEDULE_CLEANUP=1h\n")

    settings = load_settings(Settings, env_file=None)

    assert settings.crypto_channel == "crypto-update"
    assert settings.task_schedules == {}


def test_overrides_are_keyed_by_upper_cased_task_and_stripped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load(monkeypatch, schedule_crypto_trigger="  30s  ", TASK_TIME_LIMIT="5")

    assert settings.task_schedules == {"CRYPTO_TRIGGER": "30s"}
    assert settings.task_time_limits == {}
    assert settings.task_time_limit == 5.0


def test_empty_schedule_override_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"^SCHEDULE_CLEANUP: must not be empty$"):
        load(monkeypatch, SCHEDULE_CLEANUP=" ")


BAD_SETTINGS = [
    ("REDIS_URL", f"http://user:{PASSWORD}@localhost:6379/0", "redis://, rediss:// or unix://"),
    ("LOG_LEVEL", "LOUD", "must be one of TRACE, DEBUG"),
    ("LOG_FORMAT", "xml", "'text' or 'json'"),
    ("SHUTDOWN_TIMEOUT", "-1", "must be > 0"),
    ("SHUTDOWN_TIMEOUT", "5x", "'5x' is not a duration"),
    ("HEARTBEAT_INTERVAL", "0", "must be > 0"),
    ("WORKER_TIMEZONE", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
    ("RUN_HISTORY_MAXLEN", "abc", "must be an integer"),
    ("CLEANUP_RETENTION_DAYS", "0", "must be >= 1"),
    ("HEALTH_MEMORY_LIMIT_MB", "-1", "must be > 0"),
    ("ALERT_AFTER_FAILURES", "-1", "must be between 0 and 1,000"),  # its range, README
    ("MISFIRE_GRACE", "1d", "'1d' is not a duration"),
    ("ALERT_WEBHOOK_URL", "ftp://x", "http:// or https://"),
    ("WORKER_APP", "nocolon", "MODULE:ATTR"),
    ("TASK_TIME_LIMIT_CRYPTO_TRIGGER", "soon", "'soon' is not a duration"),
    ("METRICS_PORT", "0", "must be a port number, 1-65535"),
    ("METRICS_PORT", "65536", "must be a port number, 1-65535"),
    ("METRICS_PORT", "http", "must be a port number, 1-65535"),
    ("METRICS_PORT", "\u00b2", "must be a port number, 1-65535"),  # a digit `int` refuses
    ("REDIS_SENTINELS", "sentinel:\u00b2", "'sentinel:\u00b2' is not host:port"),
    ("REDIS_URL", "redis://localhost:6379/\u00b2", "must be a number"),
    ("METRICS_ADDR", "not a host", "must be an IP address or a host name"),
    ("METRICS_ADDR", "", "must be an IP address or a host name"),
    # Before: escape characters and a 100,000-character id reached every log line.
    ("WORKER_INSTANCE_ID", "a\x1b[31mred", "must be 1 to 128 printable ASCII characters"),
    ("WORKER_INSTANCE_ID", "x" * 129, "must be 1 to 128 printable ASCII characters"),
    ("WORKER_INSTANCE_ID", "two words", "contain no whitespace"),
]


@pytest.mark.parametrize(
    ("variable", "value", "expected"), BAD_SETTINGS, ids=[f"{v}={x}" for v, x, _ in BAD_SETTINGS]
)
def test_bad_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(monkeypatch, **{variable: value})

    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert expected in message
    assert "\n" not in message
    assert "Traceback" not in message
    assert "input_value" not in message
    assert PASSWORD not in message
    assert caught.value.__cause__ is None


def test_bad_redis_url_message_does_not_echo_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as caught:
        load(monkeypatch, REDIS_URL=f"redis://user:{PASSWORD}@localhost:notaport/0")

    assert str(caught.value).startswith("REDIS_URL: ")
    assert "localhost" not in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_settings_parse_error_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class ListSettings(WorkerSettings):
        names: list[str] = []

    monkeypatch.setenv("NAMES", "a,b")

    with pytest.raises(ConfigError, match=r"^NAMES: "):
        load_settings(ListSettings)


@pytest.mark.parametrize(
    ("text", "seconds"), [("500ms", 0.5), ("15m", 900.0), ("1h", 3600.0), ("2.5", 2.5)]
)
def test_durations_accept_units_and_bare_seconds(
    monkeypatch: pytest.MonkeyPatch, text: str, seconds: float
) -> None:
    settings = load(monkeypatch, SHUTDOWN_TIMEOUT=text, TASK_TIME_LIMIT_CLEANUP=text)

    assert settings.shutdown_timeout == seconds
    assert settings.task_time_limits == {"CLEANUP": seconds}


def test_disabled_tasks_are_split_stripped_and_empties_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load(monkeypatch, DISABLED_TASKS="a, b,,c").disabled == ("a", "b", "c")


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("redis://user:pw@h:1/0", "redis://user:***@h:1/0"),
        ("rediss://default:pw@cache.example:6380/2", "rediss://default:***@cache.example:6380/2"),
        ("redis://:pw@h:1/0", "redis://:***@h:1/0"),
        ("unix:///var/run/redis.sock?db=1", "unix:///var/run/redis.sock?db=1"),
        ("unix://user:pw@/tmp/redis.sock", "unix://user:***@/tmp/redis.sock"),
        ("unix:///tmp/redis.sock?password=pw&db=0", "unix:///tmp/redis.sock?password=***&db=0"),
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
    ],
)
def test_safe_redis_url_hides_only_the_password(
    monkeypatch: pytest.MonkeyPatch, url: str, safe: str
) -> None:
    assert load(monkeypatch, REDIS_URL=url).safe_redis_url() == safe


def test_rediss_with_acl_username_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"rediss://worker:{PASSWORD}@cache.example:6380/0"

    assert load(monkeypatch, REDIS_URL=url).redis_url_value() == url


def test_secrets_contain_the_redis_password_and_webhook_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    webhook = "https://hooks.example/services/T0/B0/XYZ"
    settings = load(
        monkeypatch, REDIS_URL=f"redis://user:{PASSWORD}@h:6379/0", ALERT_WEBHOOK_URL=webhook
    )

    assert PASSWORD in settings.secrets()
    assert webhook in settings.secrets()
    assert "" not in settings.secrets()


def test_secrets_are_empty_without_password_or_webhook(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load(monkeypatch).secrets() == ()


def test_settings_repr_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch, REDIS_URL=f"redis://user:{PASSWORD}@h:6379/0")

    assert PASSWORD not in repr(settings)


@pytest.mark.parametrize(
    ("port", "addr"), [("9100", "0.0.0.0"), (" 65535 ", "::1"), ("1", "metrics.internal")]
)
def test_metrics_port_and_address_are_read_and_stripped(
    monkeypatch: pytest.MonkeyPatch, port: str, addr: str
) -> None:
    settings = load(monkeypatch, METRICS_PORT=port, METRICS_ADDR=addr)

    assert settings.metrics_port == int(port)
    assert settings.metrics_addr == addr


def test_empty_metrics_port_leaves_metrics_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load(monkeypatch, METRICS_PORT="").metrics_port is None


def test_every_settings_mixin_validator_reaches_worker_settings() -> None:
    """Two mixins with a validator of one name: the later one hid the other, and a setting
    went unvalidated (QUEUE_LOCK_DURATION=1s was refused as "not a number")."""
    from worker.settings.base import WorkerSettings

    merged = WorkerSettings.__pydantic_decorators__
    for mixin in WorkerSettings.__mro__[1:]:
        own = getattr(mixin, "__pydantic_decorators__", None)
        if own is None or mixin.__module__.startswith("pydantic"):
            continue
        for kind in ("field_validators", "model_validators"):
            for name, decorator in getattr(own, kind).items():
                found = getattr(merged, kind)[name].func
                assert _plain(found) is _plain(decorator.func), (mixin, name)


def _plain(method: object) -> object:
    return getattr(method, "__func__", method)
