"""The NATS connection every NATS target shares: named, reconnecting for ever, drained at the end.

nats-py is imported only when a NATS target is configured (the default worker never loads
it). The first connect runs in the background, so a NATS outage does not stop start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from typing import TYPE_CHECKING, Any

from loguru import logger

from worker.connect.errors import describe_error
from worker.errors import ConfigError

if TYPE_CHECKING:
    from nats.aio.client import Client

DRAIN_TIMEOUT = 2.0
"""At shutdown the connection gets this long (at most) to flush and close."""
RECONNECT_WAIT = 0.5
_DENIED = re.compile(r'Permissions Violation for Publish to "([^"]+)"', re.IGNORECASE)


def denied_subject(exc: BaseException) -> str | None:
    """The subject of a publish the server refused for want of permission (lower case, as
    nats-py reports it), or None."""
    found = _DENIED.search(str(exc))
    return found.group(1).lower() if found is not None else None


class NatsNotConnected(ConnectionError):
    """No connection to NATS right now: nothing was sent (a refusal, not a lost reply)."""


class NatsPublishDenied(ConnectionError):
    """The server refused a publish for want of permission (it was not stored)."""


class NatsLoginRefused(ConfigError):
    """The server answered and refused the credentials of NATS_URL."""


class NatsConnection:
    """One nats-py client; `client()` gives it while connected, raises NatsNotConnected else.

    A login the server refuses (at start: `wait_connected` raises NatsLoginRefused) goes on
    being retried like an unreachable server: later, it is an outage of the targets."""

    def __init__(self, servers: list[str], *, name: str, timeout: float, where: str) -> None:
        self._servers, self._name, self._timeout, self.where = servers, name, timeout, where
        self._nc: Client | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._attempted = asyncio.Event()
        """Set at each failed attempt to connect (and on connecting)."""
        self._failures = 0
        self.refused = False
        """The last attempt's login was refused (until a connection succeeds)."""
        self.down_since: float | None = time.time()
        self._last_error = ""
        self._logged: set[str] = set()
        """The kinds of error logged since the last connection: one line each, not one per
        attempt (a refused login alternates two kinds, every RECONNECT_WAIT)."""
        self._closing = False
        self._was_up = False
        self._denials = 0
        self._denied: dict[str, int] = {}
        """Subject → the number of the last permissions violation the server reported on it."""

    @property
    def up(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    def start(self) -> None:
        if self._connecting is None:
            self._connecting = asyncio.create_task(self._connect(), name="nats:connect")

    def down_reason(self) -> str | None:
        """Why nothing can be sent now (None: connected)."""
        if self.up:
            return None
        why = "authentication failed" if self.refused else self._last_error
        return f"not connected to nats at {self.where}" + (f": {why}" if why else "")

    def client(self) -> Client:
        reason = self.down_reason()
        if self._nc is None or reason is not None:
            raise NatsNotConnected(reason or "not connected")
        return self._nc

    def denials(self) -> int:
        """A mark for `denied`: the permissions violations reported so far."""
        return self._denials

    def denied(self, since: int, subject: str) -> str | None:
        """The server's refusal of a publish on `subject` (or on a subject starting with it
        and a dot) reported after the mark `since`, or None. The server answers a publish
        before the PING of a flush that follows it, so a flush leaves none unreported."""
        # nats-py lower-cases the server's error text: subjects are compared the same way.
        wanted = subject.lower()
        for denied, number in self._denied.items():
            if number > since and (denied == wanted or denied.startswith(f"{wanted}.")):
                return f"nats refused a publish to {denied}: permissions violation"
        return None

    async def wait_connected(self, timeout: float) -> Client:
        """The client once connected; NatsLoginRefused as soon as a login is refused, and
        NatsNotConnected once every server failed an attempt, or after `timeout`."""
        self.start()
        deadline = asyncio.get_running_loop().time() + timeout
        failures = self._failures
        while not self.up:
            if self.refused:
                raise NatsLoginRefused(f"NATS_URL: {self.where}: authentication failed")
            left = deadline - asyncio.get_running_loop().time()
            if self._failures - failures >= len(self._servers) or left <= 0:
                break
            self._attempted.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._attempted.wait(), left)
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

    async def _connect(self, wait: float = 0.0) -> None:
        from nats.aio.client import Client

        await asyncio.sleep(wait)
        # Built here, not by `nats.connect`, so that a stop during the first connect closes it.
        self._nc = nc = Client()
        await nc.connect(
            servers=self._servers,
            name=self._name,
            max_reconnect_attempts=-1,  # nats-py's default gives up after ~2 minutes
            reconnect_time_wait=RECONNECT_WAIT,  # type: ignore[arg-type]
            connect_timeout=max(1, round(self._timeout)),
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
            closed_cb=self._on_closed,
        )
        self._on_up()

    def _on_up(self) -> None:
        if self.down_since is not None and self._was_up:  # the first connection is no news
            logger.bind(service="nats", where=self.where).info("nats connected")
        self._was_up = True
        self.down_since = None
        self._last_error = ""
        self._logged.clear()
        self.refused = False
        self._failures = 0
        self._connected.set()
        self._attempted.set()

    async def _on_error(self, exc: Exception) -> None:
        text = describe_error(exc)
        if self.up:  # e.g. a permissions violation: the connection stays
            if (found := denied_subject(exc)) is not None:
                self._denials += 1
                self._denied[found] = self._denials
            logger.bind(service="nats", where=self.where, error=text).warning("nats error")
            return
        self._failures += 1
        if auth_error(exc):
            self.refused = True
        elif "authoriz" not in self._last_error.lower():  # the server's reset after a refusal
            self.refused = False
        self._last_error = text
        # Never connected yet, a refusal is said by the start-up's one line (or the outage's).
        quiet = self.refused and not self._was_up
        if not quiet and text not in self._logged:
            self._logged.add(text)
            logger.bind(service="nats", where=self.where, error=text).warning("nats error")
        self._attempted.set()

    async def _on_disconnected(self) -> None:
        if self.down_since is None and not self._closing:
            self.down_since = time.time()
            self._connected.clear()
            logger.bind(service="nats", where=self.where).warning("nats disconnected")

    async def _on_reconnected(self) -> None:
        self._on_up()

    async def _on_closed(self) -> None:
        """nats-py closes the client for good when a connected server revokes the login
        ('Authorization Violation'): connect again with a new one, as after any outage."""
        self._connected.clear()
        if self._closing:
            return
        if self.down_since is None:
            self.down_since = time.time()
            logger.bind(service="nats", where=self.where).warning("nats disconnected")
        if (
            self._nc is not None
            and self._nc.last_error is not None
            and auth_error(self._nc.last_error)
        ):
            self.refused = True
            self._last_error = describe_error(self._nc.last_error)
        self._connecting = asyncio.create_task(self._connect(RECONNECT_WAIT), name="nats:connect")


def auth_error(exc: Any) -> bool:
    text = str(exc).lower()
    return "authoriz" in text or "authentic" in text or "auth" in type(exc).__name__.lower()
