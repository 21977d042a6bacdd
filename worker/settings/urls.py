"""The URLs among the settings: REDIS_URL and ALERT_WEBHOOK_URL checked, and shown safely.

No message here ever quotes a URL: it may carry a password or a token.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_REDIS_SCHEMES = ("redis", "rediss", "unix")
_QUERY_PASSWORD = re.compile(r"(^|&)(password=)([^&]*)", re.IGNORECASE)


def redis_url_setting(value: str) -> str:
    """REDIS_URL stripped, or a ValueError saying what is wrong with it."""
    url = value.strip()
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a non-numeric or out-of-range port
    except ValueError:
        raise ValueError("not a valid URL (bad host or port)") from None
    if parts.scheme.lower() not in _REDIS_SCHEMES:
        raise ValueError("must start with redis://, rediss:// or unix://")
    database = parts.path.strip("/")
    numeric = database.isascii() and database.isdigit()
    if parts.scheme.lower() != "unix" and database and not numeric:
        raise ValueError("the database (the path after the host) must be a number")
    if parts.query:
        _check_query_options(url)
    return url


def webhook_url_setting(value: str) -> str | None:
    """ALERT_WEBHOOK_URL stripped; empty means none."""
    url = value.strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError("must start with http:// or https://")
    return url


def masked_redis_url(url: str) -> str:
    """The URL fit for logs: any password (userinfo or `?password=`) shown as `***`."""
    parts = urlsplit(url)
    netloc, query = parts.netloc, _QUERY_PASSWORD.sub(r"\1\2***", parts.query)
    if parts.password is not None:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:***@{host}"
    # Built by hand: urlunsplit drops the empty authority of `unix:///path`.
    query = f"?{query}" if query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{parts.scheme}://{netloc}{parts.path}{query}{fragment}"


def redis_url_secrets(url: str) -> list[str]:
    """The password of a Redis URL, in its userinfo or its `?password=` option."""
    parts = urlsplit(url)
    return [parts.password or "", *(match[3] for match in _QUERY_PASSWORD.finditer(parts.query))]


def webhook_url_secrets(url: str) -> list[str]:
    """A webhook URL whole, its password, and its path and query (where tokens live)."""
    hook = urlsplit(url)
    tail = hook.path + (f"?{hook.query}" if hook.query else "")
    return [hook.geturl(), hook.password or "", tail if len(tail) > 1 else ""]


def _check_query_options(url: str) -> None:
    """Options after `?` are parsed by redis-py when the client is built: parse them now,
    so a bad one is a one-line error here, not a traceback (with the URL) later."""
    from redis.connection import parse_url

    try:
        parse_url(url)  # type: ignore[no-untyped-call]
    except (ValueError, TypeError) as exc:
        reason = str(exc).split(" in connection URL")[0]  # redis-py's text, URL-free
        raise ValueError(f"bad option after '?': {reason}") from None
