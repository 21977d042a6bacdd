"""Coin sync: every 15 minutes one `sync-coin` job per coin on the `coin-sync` queue, and the
processor that fetches each coin's price from a CoinGecko-shaped API and stores it."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loguru import logger

from tasks.http_body import ACCEPT_ENCODING, peek, read_body
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
MAX_BYTES = 1_000_000
"""PRICE_API_MAX_BYTES's default: a real answer for one coin is about 150 bytes."""
COIN_LENGTH = 100
"""The longest coin id a job may name (CoinGecko's ids are a few dozen characters)."""


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
        max_bytes: int = MAX_BYTES,
        fetch_timeout: float = FETCH_TIMEOUT,
    ) -> None:
        self._queues = queues
        self._redis = redis
        self._coins = coins
        self._url = f"{price_api_url.rstrip('/')}/simple/price"
        self._max_delay = max_delay
        self._max_bytes = max_bytes
        self._timeout = fetch_timeout
        self._http: asyncio.Future[httpx.AsyncClient] | None = None  # opened by the first job

    @cron("*/15 * * * *", name="coin-sync")
    async def enqueue_coins(self) -> None:
        """One job per coin; the id `<fire id>:<coin>` makes every replica's and every retry's
        enqueue of one fire the same job. `worker enqueue coin-sync [COIN…]` names the coins
        (none: every coin in COINS). A run by hand (`enqueue`, `trigger`, `run-task`) has no
        spread delay: a manual sync is wanted now."""
        fire = current_fire()
        named = enqueue_args()
        coins = tuple(coin.lower() for coin in named) or self._coins
        now = bool(named) or fire.manual is not None
        for coin in coins:
            delay = 0.0 if now else random.uniform(0, self._max_delay)
            job_id = await self._queues.add(
                QUEUE, JOB, {"coin": coin}, job_id=f"{fire.id}:{coin}", delay=delay
            )
            logger.bind(task="coin-sync", coin=coin, job=job_id, delay_s=round(delay, 1)).debug(
                "coin job enqueued"
            )

    @processor(QUEUE, concurrency=5, name=JOB)
    async def sync_coin(self, data: dict[str, Any]) -> dict[str, Any]:
        coin = data.get("coin") if isinstance(data, dict) else None
        if not isinstance(coin, str) or not coin or len(coin) > COIN_LENGTH:
            wanted = f"a coin of 1 to {COIN_LENGTH} characters"
            raise JobError(f"job data is not {{'coin': {wanted}}}: {_shape(data)}", retry=False)
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
        opening, self._http = self._http, None
        if opening is None or _unusable(opening):
            return
        try:
            client = await opening
        except Exception:  # never opened: the job that asked for it failed with this error
            return
        await client.aclose()

    async def _client(self) -> httpx.AsyncClient:
        """The HTTP client, opened once, by the first job, in a worker thread: importing httpx
        and loading its CA bundle take tens of ms (hundreds where httpx's CLI extras are
        installed) that would otherwise hold the event loop, and every task's fire with it."""
        opening = self._http
        if opening is None or _unusable(opening):
            opening = self._http = asyncio.ensure_future(asyncio.to_thread(_open, self._timeout))
        return await asyncio.shield(opening)  # a cancelled job leaves the opening to the others

    async def _fetch(self, coin: str) -> dict[str, Any]:
        client = await self._client()
        import httpx  # loaded by now

        params = {
            "ids": coin,
            "vs_currencies": "usd",
            "include_market_cap": "true",
            "include_24hr_change": "true",
        }
        try:
            # The whole answer within the timeout: httpx's bounds each read only, and a server
            # dripping a byte every few seconds would hold the job (and its slot) for days.
            async with asyncio.timeout(self._timeout):
                async with client.stream(
                    "GET", self._url, params=params, headers=ACCEPT_ENCODING
                ) as response:
                    return await self._quote(coin, response)
        except (httpx.TimeoutException, TimeoutError):
            raise JobError(f"price API: no whole answer within {self._timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise JobError(f"price API unreachable: {type(exc).__name__}") from None

    async def _quote(self, coin: str, response: httpx.Response) -> dict[str, Any]:
        """429 and 5xx retry (after `Retry-After`, bounded by the framework's
        QUEUE_MAX_RETRY_AFTER); any other 4xx and a body that is too large or not the
        expected JSON fail the job at once, with the reason. Only as much of the body as the
        reason needs is read, and never more than PRICE_API_MAX_BYTES."""
        status = response.status_code
        if status == 429 or status >= 500:
            raise JobError(f"price API: HTTP {status}", retry_after=retry_after(response))
        if status >= 400:
            raise JobError(f"price API: HTTP {status}: {await peek(response)}", retry=False)
        body = await read_body(
            response, self._max_bytes, source="price API", setting="PRICE_API_MAX_BYTES"
        )
        return parse_quote(coin, body)


def _open(timeout: float) -> httpx.AsyncClient:
    import httpx

    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request: noise
    return httpx.AsyncClient(timeout=timeout)


def _unusable(opening: asyncio.Future[httpx.AsyncClient]) -> bool:
    """Whether opening the client failed (the next job tries again)."""
    return opening.done() and (opening.cancelled() or opening.exception() is not None)


def parse_quote(coin: str, body: bytes) -> dict[str, Any]:
    """`{price, market_cap, change_24h}` from CoinGecko's `simple/price` answer; a body that is
    not that fails the job at once, with the reason."""
    try:
        quote = json.loads(body)[coin]
        return {
            "price": float(quote["usd"]),
            "market_cap": _number(quote.get("usd_market_cap")),
            "change_24h": _number(quote.get("usd_24h_change")),
        }
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        reason = (
            "not JSON"
            if isinstance(exc, ValueError | RecursionError)
            else f"no usd price for {coin!r}"
        )
        text = " ".join(body[:200].decode("utf-8", "replace").split())
        raise JobError(f"price API: bad answer ({reason}): {text}", retry=False) from None


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a `Retry-After` header (whole seconds or an HTTP date); None if absent or
    anything else. The framework holds it to QUEUE_MAX_RETRY_AFTER."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(value)  # 40 digits is 1e39: a float, capped downstream
    from email.utils import parsedate_to_datetime  # rare: most servers send seconds

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # `-0000`: UTC, as RFC 9110 dates are
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _shape(data: Any) -> str:
    """What a job's data is, in a few words (never the data itself: it may be large)."""
    if isinstance(data, dict):
        keys = ", ".join(repr(key)[:20] for key in list(data)[:5])
        return f"an object with keys {keys}" if keys else "an empty object"
    return f"a JSON {type(data).__name__}" if data is not None else "null"


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
