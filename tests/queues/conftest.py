"""Fixtures of the queue tests: a synchronous client of the suite's Redis."""

from __future__ import annotations

import pytest
import redis

from tests.support import RedisServer


@pytest.fixture
def client(redis_server: RedisServer, redis_url: str) -> redis.Redis:
    return redis_server.client()
