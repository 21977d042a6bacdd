"""Fixtures of the trigger target tests: a nats-server of the test's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.targets.support import NatsServer


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    server = NatsServer()
    server.start()
    yield server
    server.stop()
