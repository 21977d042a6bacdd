"""Fixtures of the defect tests: the target tests' nats-server."""

from tests.targets.conftest import nats_server

__all__ = ["nats_server"]
