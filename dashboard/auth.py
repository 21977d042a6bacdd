"""DASHBOARD_TOKEN: when set, every page and JSON route needs it, as `Authorization: Bearer
<token>` or through the login form (which sets a session cookie derived from it)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from dashboard.render import render

COOKIE = "worker_dashboard"
Endpoint = Callable[[Request], Awaitable[Response]]


class TokenGate:
    """Lets a request through with the token (header or cookie); sends people to /login and
    programs a 401."""

    def __init__(self, token: str | None) -> None:
        self._token = token
        self._session = (
            hmac.new(token.encode(), b"worker-dashboard-session", hashlib.sha256).hexdigest()
            if token
            else None
        )

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def allows(self, request: Request) -> bool:
        if self._token is None or self._session is None:
            return True
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _same(given.strip(), self._token):
            return True
        return _same(request.cookies.get(COOKIE, ""), self._session)

    def require(self, endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            if self.allows(request):
                return await endpoint(request)
            if request.url.path.startswith("/api/"):
                return JSONResponse(
                    {"error": "DASHBOARD_TOKEN required: send Authorization: Bearer <token>"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            target = quote(request.url.path, safe="/")
            return RedirectResponse(f"/login?next={target}", status_code=303)

        return guarded

    async def login_page(self, request: Request) -> Response:
        if self._token is None:
            return RedirectResponse("/", status_code=303)
        return _login(_next(request.query_params.get("next")), failed=False)

    async def login(self, request: Request) -> Response:
        if self._token is None or self._session is None:
            return RedirectResponse("/", status_code=303)
        form = parse_qs((await request.body()).decode(errors="replace"))
        given = (form.get("token") or [""])[0]
        target = _next((form.get("next") or ["/"])[0])
        if not _same(given, self._token):
            return _login(target, failed=True)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE, self._session, httponly=True, samesite="strict", path="/", max_age=86400 * 7
        )
        return response

    async def logout(self, _: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response


def _login(target: str, *, failed: bool) -> HTMLResponse:
    html = render("login.html", {"next": target, "failed": failed, "title": "Sign in"})
    return HTMLResponse(html, status_code=401 if failed else 200)


def _next(value: str | None) -> str:
    """Only a path on this site (never `//host` or a URL): no open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
