"""The application `bench/dashboard_screenshots.py` runs on each replica: the shipped one plus
`price-snapshot`, a cluster task that reads the prices coin-sync stored and fails while a coin
in COINS has none (so a misspelt coin shows as a failing task, an alert and failed jobs).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from dependency_injector import providers

from container import Container as AppContainer
from tasks.coin_sync import stats_key
from worker import cron

if TYPE_CHECKING:
    from redis.asyncio import Redis


class PriceSnapshot:
    def __init__(self, redis: Redis, coins: tuple[str, ...]) -> None:
        self._redis = redis
        self._coins = coins

    @cron("*/5 * * * *", name="price-snapshot")
    async def snapshot(self) -> None:
        stored = await self._redis.mget([stats_key(coin) for coin in self._coins])
        found = dict(zip(self._coins, stored, strict=True))
        missing = [coin for coin, value in found.items() if value is None]
        if missing:
            raise LookupError(f"no stored price for {', '.join(map(repr, missing))}")
        prices = {coin: json.loads(v)["price"] for coin, v in found.items() if v is not None}
        await self._redis.set("crypto:snapshot", json.dumps(prices))


class Container(AppContainer):
    snapshot = providers.Singleton(
        PriceSnapshot, AppContainer.redis, AppContainer.settings.provided.coin_list
    )
