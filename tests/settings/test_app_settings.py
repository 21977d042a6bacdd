"""An application's own settings (README "Your own settings"): read from the environment
like the framework's, and a bad value is one line naming the variable, exit 78."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.support import RedisServer, WorkerProcess

Spawn = Callable[..., WorkerProcess]
APP = ("--app", "tests.apps.own_settings:Container")


def test_an_apps_own_settings_reach_its_services(
    spawn_worker: Spawn, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    client.delete("greeting")
    task = spawn_worker(
        *APP, "run-task", "greet", GREETING="bonjour", GREETING_REPEAT="2", GREETING_PAUSE="1m"
    )
    assert task.wait(timeout=30) == 0, task.stderr
    assert client.get("greeting") == b"bonjour bonjour (pause 60.0s)"


def test_an_apps_settings_keep_the_framework_and_shipped_ones(spawn_worker: Spawn) -> None:
    listed = spawn_worker(*APP, "list", "--json", SCHEDULE_GREET="1h", DISABLED_TASKS="cleanup")
    assert listed.wait(timeout=30) == 0, listed.stderr
    tasks = {task["name"]: task for task in json.loads(listed.stdout)}
    assert tasks["greet"]["schedule"] == "every 1h"
    assert tasks["cleanup"]["disabled"] is True
    assert tasks["crypto-trigger"]["disabled"] is False


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GREETING_REPEAT", "0", "GREETING_REPEAT: must be >= 1"),
        ("GREETING_REPEAT", "twice", "GREETING_REPEAT: must be an integer"),
        ("GREETING_PAUSE", "soon", "GREETING_PAUSE: 'soon' is not a duration"),
        ("GREETING", " ", "GREETING: must not be empty"),
        ("COINS", ",", "COINS: must name at least one coin"),
    ],
)
def test_a_bad_value_of_an_apps_setting_is_one_line_and_exit_78(
    spawn_worker: Spawn, name: str, value: str, message: str
) -> None:
    process = spawn_worker(*APP, "list", **{name: value})
    assert process.wait(timeout=30) == 78, process.stderr
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, process.stderr
    assert message in lines[0]
    assert "Traceback" not in process.stderr
