"""The dashboard's own settings (DASHBOARD_ADDR, DASHBOARD_TOKEN, DASHBOARD_ALLOW_OPEN); Redis
comes from the worker's (REDIS_URL, KEY_PREFIX, QUEUE_PREFIX, REDIS_SENTINELS, ...)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from dotenv import dotenv_values

DEFAULT_ADDR = "127.0.0.1:8080"
MIN_OPEN_TOKEN = 16
"""Characters a token needs before the dashboard listens on anything but loopback."""
QUOTED_MAX = 12
"""A bad value is quoted in its error only up to this length (and never a credential)."""
SWITCH = {
    **dict.fromkeys(("on", "true", "yes", "1"), True),
    **dict.fromkeys(("off", "false", "no", "0", ""), False),
}
"""DASHBOARD_ALLOW_OPEN's spellings (any case); unset or empty is off."""


class SettingError(ValueError):
    """A setting that cannot be used: its message names it, in one line, without its value
    when the value is a secret."""


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    host: str
    port: int
    token: str | None
    allow_open: bool = False
    """DASHBOARD_ALLOW_OPEN: the network is trusted, so a non-loopback bind may go without a
    token of MIN_OPEN_TOKEN characters (a WARNING at start says so)."""

    @property
    def addr(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def open_to_guessing(self) -> bool:
        """Reachable beyond this machine without a token long enough to resist guessing."""
        strong = self.token is not None and len(self.token) >= MIN_OPEN_TOKEN
        return not strong and not is_loopback(self.host)


def load(env_file: str | None = ".env", addr: str | None = None) -> DashboardSettings:
    """From the environment, then `.env` (as the worker reads its settings); `addr` (the
    command line's --addr) wins over both."""
    values = _read(env_file)
    host, port = parse_addr(addr or values.get("DASHBOARD_ADDR") or DEFAULT_ADDR)
    token = values.get("DASHBOARD_TOKEN") or None  # empty: unset (compose passes it empty)
    if token is not None and token != token.strip():
        raise SettingError("DASHBOARD_TOKEN: has leading or trailing whitespace")
    allow_open = parse_switch("DASHBOARD_ALLOW_OPEN", values.get("DASHBOARD_ALLOW_OPEN", ""))
    settings = DashboardSettings(host=host, port=port, token=token, allow_open=allow_open)
    if settings.open_to_guessing and not allow_open:
        raise SettingError(
            f"DASHBOARD_TOKEN: {'too short' if token else 'unset'}: a DASHBOARD_ADDR other "
            f"than loopback needs a token of at least {MIN_OPEN_TOKEN} characters "
            "(or DASHBOARD_ALLOW_OPEN=on on a trusted network)"
        )
    return settings


def is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1 (an IPv4-mapped one too). Any other name counts as open:
    what it resolves to is not checked."""
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def parse_addr(text: str) -> tuple[str, int]:
    """`host:port` (`[::1]:8080` for IPv6) → (host, port)."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise SettingError(f"DASHBOARD_ADDR: {_quoted(text)}is not host:port (e.g. {DEFAULT_ADDR})")
    return host, int(port)


def parse_switch(name: str, text: str) -> bool:
    value = SWITCH.get(text.strip().lower())
    if value is None:
        raise SettingError(f"{name}: {_quoted(text)}is not on or off")
    return value


def _quoted(text: str) -> str:
    return f"{text!r} " if len(text) <= QUOTED_MAX else ""


def _read(env_file: str | None) -> dict[str, str]:
    names = ("DASHBOARD_ADDR", "DASHBOARD_TOKEN", "DASHBOARD_ALLOW_OPEN")
    found: dict[str, str] = {}
    if env_file is not None and os.path.isfile(env_file):
        for name, value in dotenv_values(env_file).items():
            if name.upper() in names and value is not None:
                found[name.upper()] = value
    for name, value in os.environ.items():
        if name.upper() in names:
            found[name.upper()] = value
    return found
