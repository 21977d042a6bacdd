"""Settings that name a place to listen: a TCP port and a bind address."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import BeforeValidator

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")


def port_setting(value: object) -> int | None:
    """A TCP port, 1-65535; unset or empty means none (the listener stays off)."""
    text = value.strip() if isinstance(value, str) else value
    if text is None or text == "":
        return None
    if (
        isinstance(text, bool)
        or not isinstance(text, str | int)
        or not (str(text).isascii() and str(text).isdigit())
    ):
        raise ValueError("must be a port number, 1-65535")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError("must be a port number, 1-65535")
    return port


def address_setting(value: object) -> str:
    """An IP address (v4 or v6) or a host name to bind to."""
    text = str(value).strip()
    try:
        ipaddress.ip_address(text)
    except ValueError:
        if not _HOST_NAME.match(text) or len(text) > 253:
            raise ValueError("must be an IP address or a host name") from None
    return text


Port = Annotated[int | None, BeforeValidator(port_setting)]
BindAddress = Annotated[str, BeforeValidator(address_setting)]
