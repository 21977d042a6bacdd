"""A value no template expects (what the read model's shaping has not foreseen) gives the
page's banner and a logged error, never a bare 500."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request

from dashboard.auth import TokenGate
from dashboard.pages import Pages


class OddViews:
    async def fleet(self) -> dict[str, Any]:
        return {"replicas": [{"id": "x", "rss_mb": "not a number", "running": {}}]}


def request(path: str, query: str = "") -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query.encode(),
        "headers": [],
        "server": ("127.0.0.1", 8080),
        "scheme": "http",
    }
    return Request(scope)


def test_a_page_that_cannot_render_shows_the_banner() -> None:
    pages = Pages(OddViews, where="redis://127.0.0.1:6379/0", timeout=1.0, gate=TokenGate(None))  # type: ignore[arg-type]
    for query in ("", "fragment=1"):
        reply = asyncio.run(pages.fleet(request("/", query)))
        body = bytes(reply.body).decode()
        assert reply.status_code == 500
        assert 'id="redis-down"' in body
        assert "could not show the fleet&#39;s state" in body
        assert "Traceback" not in body
