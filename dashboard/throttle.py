"""Failed authentications per client address: after FAILURES within WINDOW_S, the address is
refused (429) for BLOCK_S, the right token included. Kept in this process only (never in
Redis: the dashboard writes nothing there), in a table of at most MAX_CLIENTS addresses."""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

FAILURES = 10
"""Failed authentications (a wrong Bearer token, login form or session cookie) ..."""
WINDOW_S = 60.0
"""... within this sliding window ..."""
BLOCK_S = 60.0
"""... refuse the address for this long. A block is not shortened by anything it sends."""
MAX_CLIENTS = 10_000
"""Addresses remembered at most; beyond, the one whose last failure is oldest is forgotten (a
client rotating addresses costs bounded memory: at most ~0.6 KB each, ~6 MB in all)."""
IPV6_PREFIX = 64
"""An IPv6 client is its /64: one host or site holds a whole /64 and can rotate within it."""

logger = logging.getLogger("dashboard")


@dataclass(slots=True)
class _Client:
    recent: list[float] = field(default_factory=list)
    """Instants (monotonic) of failures within the window, at most FAILURES."""
    last: float = 0.0
    blocked_until: float = 0.0
    total: int = 0
    """Failures counted since this address entered the table."""


class Throttle:
    """Counts failures per client key (`client_key`) and says how long a key stays refused."""

    def __init__(
        self,
        *,
        failures: int = FAILURES,
        window: float = WINDOW_S,
        block: float = BLOCK_S,
        capacity: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._failures = failures
        self._window = window
        self._block = block
        self._capacity = capacity
        self._clock = clock
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        """Oldest last failure first: the front is what goes stale or is evicted first."""

    def __len__(self) -> int:
        return len(self._clients)

    def retry_after(self, client: str) -> int:
        """Whole seconds `client` stays refused; 0 when it is not."""
        entry = self._clients.get(client)
        if entry is None:
            return 0
        left = entry.blocked_until - self._clock()
        return math.ceil(left) if left > 0 else 0

    def failed(self, client: str) -> None:
        """Count one failed authentication from `client`; its FAILURES-th within the window
        blocks it. One line per FAILURES failures names it and the count (never what it
        sent): when it is blocked, or else at each FAILURES-th failure it has made."""
        now = self._clock()
        entry = self._clients.pop(client, None) or _Client()
        if entry.blocked_until > now:  # an attempt already in flight when the block began
            self._clients[client] = entry
            return
        self._forget_stale(now)
        while len(self._clients) >= self._capacity:
            self._clients.popitem(last=False)
        self._clients[client] = entry
        entry.recent = [t for t in entry.recent if t > now - self._window]
        entry.recent.append(now)
        entry.last = now
        entry.total += 1
        if len(entry.recent) >= self._failures:
            entry.recent.clear()
            entry.blocked_until = now + self._block
            logger.warning(
                "dashboard auth throttled: client=%s failures=%d window_s=%g "
                "retry_after_s=%g total=%d",
                client,
                self._failures,
                self._window,
                self._block,
                entry.total,
            )
        elif entry.total % self._failures == 0:  # guessing slower than the block: said too
            logger.warning(
                "dashboard auth failures: client=%s total=%d (not throttled: fewer than %d "
                "within %gs)",
                client,
                entry.total,
                self._failures,
                self._window,
            )

    def _forget_stale(self, now: float) -> None:
        """Drop addresses with no failure in the window and no block left (from the front)."""
        horizon = now - max(self._window, self._block)
        while self._clients:
            oldest = next(iter(self._clients.values()))
            if oldest.last > horizon or oldest.blocked_until > now:
                return
            self._clients.popitem(last=False)


def client_key(host: str | None) -> str:
    """The socket peer's address as the throttle counts it: IPv4 as is (an IPv4-mapped IPv6
    address too), IPv6 by its /64. Never a forwarded header: a client could write any."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)
