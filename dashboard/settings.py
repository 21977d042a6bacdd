"""The dashboard's own settings (DASHBOARD_ADDR, DASHBOARD_TOKEN); Redis comes from the
worker's (REDIS_URL, KEY_PREFIX, QUEUE_PREFIX, REDIS_SENTINELS, ...)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from dotenv import dotenv_values

DEFAULT_ADDR = "127.0.0.1:8080"


class SettingError(ValueError):
    """A setting that cannot be used: its message names it, in one line, without its value
    when the value is a secret."""


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    host: str
    port: int
    token: str | None

    @property
    def addr(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def load(env_file: str | None = ".env", addr: str | None = None) -> DashboardSettings:
    """From the environment, then `.env` (as the worker reads its settings); `addr` (the
    command line's --addr) wins over both."""
    values = _read(env_file)
    host, port = parse_addr(addr or values.get("DASHBOARD_ADDR") or DEFAULT_ADDR)
    token = values.get("DASHBOARD_TOKEN") or None  # empty: unset (compose passes it empty)
    if token is not None and token != token.strip():
        raise SettingError("DASHBOARD_TOKEN: has leading or trailing whitespace")
    return DashboardSettings(host=host, port=port, token=token)


def parse_addr(text: str) -> tuple[str, int]:
    """`host:port` (`[::1]:8080` for IPv6) → (host, port)."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise SettingError(f"DASHBOARD_ADDR: {text!r} is not host:port (e.g. {DEFAULT_ADDR})")
    return host, int(port)


def _read(env_file: str | None) -> dict[str, str]:
    names = ("DASHBOARD_ADDR", "DASHBOARD_TOKEN")
    found: dict[str, str] = {}
    if env_file is not None and os.path.isfile(env_file):
        for name, value in dotenv_values(env_file).items():
            if name.upper() in names and value is not None:
                found[name.upper()] = value
    for name, value in os.environ.items():
        if name.upper() in names:
            found[name.upper()] = value
    return found
