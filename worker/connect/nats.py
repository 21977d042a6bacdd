"""The NATS connection every NATS target shares: named, reconnecting for ever, drained at the end.

nats-py is imported only when a NATS target is configured (the default worker never loads
it). The first connect runs in the background, so a NATS outage does not stop start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from loguru import logger

from worker.connect.errors import describe_error

if TYPE_CHECKING:
    from nats.aio.client import Client

DRAIN_TIMEOUT = 2.0
"""At shutdown the connection gets this long (at most) to flush and close."""
RECONNECT_WAIT = 0.5


class NatsNotConnected(ConnectionError):
    """No connection to NATS right now: nothing was sent (a refusal, not a lost reply)."""


class NatsConnection:
    """One nats-py client; `client()` gives it while connected, raises NatsNotConnected else."""

    def __init__(self, servers: list[str], *, name: str, timeout: float, where: str) -> None:
        self._servers, self._name, self._timeout, self.where = servers, name, timeout, where
        self._nc: Client | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self.down_since: float | None = time.time()
        self._last_error = ""
        self._closing = False

    @property
    def up(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    def start(self) -> None:
        if self._connecting is None:
            self._connecting = asyncio.create_task(self._connect(), name="nats:connect")

    def client(self) -> Client:
        if self._nc is None or not self._nc.is_connected:
            raise NatsNotConnected(f"not connected to nats at {self.where}")
        return self._nc

    async def wait_connected(self, timeout: float) -> Client:
        self.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout)
        return self.client()

    async def close(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Drain (in-flight publishes go out) within `timeout`, then close in any case."""
        self._closing = True
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        nc = self._nc
        if nc is None or nc.is_closed:
            return
        try:
            if nc.is_connected:
                await asyncio.wait_for(nc.drain(), timeout)
        except Exception as exc:
            logger.bind(service="nats", error=describe_error(exc)).warning("nats not drained")
        finally:
            if not nc.is_closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(nc.close(), 0.5)

    async def _connect(self) -> None:
        import nats

        self._nc = await nats.connect(
            servers=self._servers,
            name=self._name,
            max_reconnect_attempts=-1,  # nats-py's default gives up after ~2 minutes
            reconnect_time_wait=RECONNECT_WAIT,
            connect_timeout=max(1, round(self._timeout)),
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
            closed_cb=self._on_closed,
        )
        self._on_up()

    def _on_up(self) -> None:
        if self.down_since is not None:
            logger.bind(service="nats", where=self.where).info("nats connected")
        self.down_since = None
        self._last_error = ""
        self._connected.set()

    async def _on_error(self, exc: Exception) -> None:
        text = describe_error(exc)
        if text != self._last_error:  # one line per kind of error, not one per attempt
            self._last_error = text
            logger.bind(service="nats", where=self.where, error=text).warning("nats error")

    async def _on_disconnected(self) -> None:
        if self.down_since is None and not self._closing:
            self.down_since = time.time()
            self._connected.clear()
            logger.bind(service="nats", where=self.where).warning("nats disconnected")

    async def _on_reconnected(self) -> None:
        self._on_up()

    async def _on_closed(self) -> None:
        self._connected.clear()


async def reach_nats(servers: list[str], *, where: str, timeout: float, jetstream: bool) -> None:
    """Connect once within `timeout` (`check`): refused credentials → ConfigError (78), no
    answer → UnavailableError (69). `where` is NATS_URL without its secrets."""
    import nats

    from worker.errors import ConfigError, UnavailableError

    errors: list[Exception] = []

    async def note(exc: Exception) -> None:
        errors.append(exc)

    try:
        async with asyncio.timeout(timeout):
            nc = await nats.connect(
                servers=servers,
                allow_reconnect=False,
                connect_timeout=max(1, int(timeout)),
                error_cb=note,
                name="crypto-stats-worker-check",
            )
            try:
                if jetstream:
                    await nc.jetstream(timeout=timeout).account_info()
            finally:
                await nc.close()
    except Exception as exc:
        seen = [*errors, exc]
        if any(_auth_error(error) for error in seen):
            raise ConfigError(f"NATS_URL: {where}: authentication failed") from None
        if jetstream and _no_jetstream(exc, errors):
            raise ConfigError(f"JetStream is not enabled on NATS_URL ({where})") from None
        reason = describe_error(exc) if str(exc) else f"no answer within {timeout:g}s"
        raise UnavailableError(f"NATS_URL: cannot reach nats at {where}: {reason}") from None


def _no_jetstream(exc: Exception, errors: list[Exception]) -> bool:
    """A server without JetStream answers its API with 503 (no responders)."""
    from nats.errors import Error as NatsError
    from nats.errors import NoRespondersError
    from nats.js.errors import ServiceUnavailableError

    if isinstance(exc, ServiceUnavailableError | NoRespondersError):
        return True
    return isinstance(exc, NatsError) and not errors and "jetstream" in str(exc)


def _auth_error(exc: Any) -> bool:
    text = str(exc).lower()
    return "authoriz" in text or "authentic" in text or "auth" in type(exc).__name__.lower()
