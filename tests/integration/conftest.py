"""Fixtures of the integration tests: an asyncio client of the suite's redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    """An asyncio client of the suite's redis-server, flushed for the test."""
    redis = Redis.from_url(redis_url)
    yield redis
    await redis.aclose()
