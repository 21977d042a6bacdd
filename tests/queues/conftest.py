"""Fixtures of the queue tests: a local price API and a client of the suite's Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.price_api import PriceApi, price_api
from tests.support import RedisServer


@pytest.fixture
def api() -> Iterator[PriceApi]:
    with price_api() as server:
        yield server


@pytest.fixture
def client(redis_server: RedisServer, redis_url: str) -> redis.Redis:
    return redis_server.client()
