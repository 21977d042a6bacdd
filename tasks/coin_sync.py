"""Coin sync: every 15 minutes one `sync-coin` job per coin on the `coin-sync` queue, and the
processor that fetches each coin's price from a CoinGecko-shaped API and stores it."""

from __future__ import annotations

import json
import logging
import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loguru import logger

from worker import (
    JobError,
    Queues,
    cron,
    current_fire,
    current_job,
    enqueue_args,
    format_instant,
    processor,
)

if TYPE_CHECKING:
    import httpx
    from redis.asyncio import Redis

QUEUE = "coin-sync"
JOB = "sync-coin"
HISTORY_LENGTH = 100
FETCH_TIMEOUT = 10.0


def stats_key(coin: str) -> str:
    return f"crypto:stats:{coin}"


def history_key(coin: str) -> str:
    return f"crypto:history:{coin}"


class CoinSyncTasks:
    def __init__(
        self,
        queues: Queues,
        redis: Redis,
        *,
        coins: tuple[str, ...],
        price_api_url: str,
        max_delay: float,
        fetch_timeout: float = FETCH_TIMEOUT,
    ) -> None:
        self._queues = queues
        self._redis = redis
        self._coins = coins
        self._url = f"{price_api_url.rstrip('/')}/simple/price"
        self._max_delay = max_delay
        self._timeout = fetch_timeout
        self._http: httpx.AsyncClient | None = None  # httpx is loaded on the first job

    @cron("*/15 * * * *", name="coin-sync")
    async def enqueue_coins(self) -> None:
        """One job per coin; the id `<fire id>:<coin>` makes every replica's and every retry's
        enqueue of one fire the same job. `worker enqueue coin-sync COIN…` names the coins
        (no spread delay then: a manual sync is wanted now)."""
        fire = current_fire()
        manual = enqueue_args()
        coins = tuple(coin.lower() for coin in manual) or self._coins
        for coin in coins:
            delay = 0.0 if manual else random.uniform(0, self._max_delay)
            job_id = await self._queues.add(
                QUEUE, JOB, {"coin": coin}, job_id=f"{fire.id}:{coin}", delay=delay
            )
            logger.bind(task="coin-sync", coin=coin, job=job_id, delay_s=round(delay, 1)).debug(
                "coin job enqueued"
            )

    @processor(QUEUE, concurrency=5, name=JOB)
    async def sync_coin(self, data: dict[str, Any]) -> dict[str, Any]:
        coin = data.get("coin") if isinstance(data, dict) else None
        if not isinstance(coin, str) or not coin:
            raise JobError(f"job data has no coin: {data!r}", retry=False)
        quote = await self._fetch(coin)
        stats = {**quote, "fetched_at": format_instant(datetime.now(UTC), precise=True)}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(stats_key(coin), json.dumps(stats))
            pipe.lpush(
                history_key(coin),
                json.dumps({"price": stats["price"], "fetched_at": stats["fetched_at"]}),
            )
            pipe.ltrim(history_key(coin), 0, HISTORY_LENGTH - 1)
            await pipe.execute()
        logger.bind(task="sync-coin", coin=coin, price=stats["price"], job=current_job().id).info(
            "coin synced"
        )
        return stats

    async def on_shutdown(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _fetch(self, coin: str) -> dict[str, Any]:
        import httpx

        if self._http is None:
            logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request: noise
            self._http = httpx.AsyncClient(timeout=self._timeout)
        params = {
            "ids": coin,
            "vs_currencies": "usd",
            "include_market_cap": "true",
            "include_24hr_change": "true",
        }
        try:
            response = await self._http.get(self._url, params=params)
        except httpx.TimeoutException:
            raise JobError(f"price API: no answer within {self._timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise JobError(f"price API unreachable: {type(exc).__name__}") from None
        return parse_quote(coin, response)


def parse_quote(coin: str, response: httpx.Response) -> dict[str, Any]:
    """`{price, market_cap, change_24h}` from CoinGecko's `simple/price` answer.

    429 and 5xx retry (after `Retry-After` when it is longer than the backoff); any other
    4xx and a body that is not the expected JSON fail the job at once, with the reason."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise JobError(f"price API: HTTP {status}", retry_after=retry_after(response))
    if status >= 400:
        raise JobError(f"price API: HTTP {status}: {response.text[:200]}", retry=False)
    try:
        quote = response.json()[coin]
        return {
            "price": float(quote["usd"]),
            "market_cap": _number(quote.get("usd_market_cap")),
            "change_24h": _number(quote.get("usd_24h_change")),
        }
    except (ValueError, KeyError, TypeError) as exc:
        reason = "not JSON" if isinstance(exc, ValueError) else f"no usd price for {coin!r}"
        raise JobError(
            f"price API: bad answer ({reason}): {response.text[:200]}", retry=False
        ) from None


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a `Retry-After` header (a number or an HTTP date); None if absent."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime  # rare: most servers send seconds

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
