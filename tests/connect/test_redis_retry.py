"""The framework's asyncio Redis clients get an asyncio `Retry` (redis.asyncio.retry): a
synchronous one (redis.retry) never retried an awaited command, and redis 8.2 converts it
with a `UserWarning` printed on every start (with LOG_FORMAT=json, a line that is not JSON)."""

from __future__ import annotations

import warnings

import pytest
from redis.asyncio.retry import Retry

from worker.connect.redis import make_client


@pytest.mark.parametrize("sentinels", [(), (("127.0.0.1", 26379),)])
def test_clients_are_built_with_an_asyncio_retry_and_no_warning(
    sentinels: tuple[tuple[str, int], ...],
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = make_client("redis://127.0.0.1:6379/0", sentinels=sentinels)
    assert isinstance(client.connection_pool.connection_kwargs["retry"], Retry)
