"""DASHBOARD_TOKEN: when set, every page and JSON route needs it, as `Authorization: Bearer
<token>` or through the login form (which sets a session cookie derived from it)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from dashboard.render import render

COOKIE = "worker_dashboard"
SESSION_SECONDS = 7 * 86400
"""A sign-in lasts this long (the cookie carries its expiry, signed with the token)."""
MAX_LOGIN_BODY = 4096
"""The login form is a token and a path: a longer body is refused unread."""
Endpoint = Callable[[Request], Awaitable[Response]]


class TokenGate:
    """Lets a request through with the token (header or cookie); sends people to /login and
    programs a 401."""

    def __init__(self, token: str | None) -> None:
        self._token = token

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def allows(self, request: Request) -> bool:
        if self._token is None:
            return True
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _same(given.strip(), self._token):
            return True
        return self._valid_session(request.cookies.get(COOKIE, ""))

    def _session(self, expires: int) -> str:
        """`<expiry>.<HMAC of it keyed by the token>`: a new token ends every session."""
        token = (self._token or "").encode()
        mac = hmac.new(token, f"session:{expires}".encode(), hashlib.sha256).hexdigest()
        return f"{expires}.{mac}"

    def _valid_session(self, value: str) -> bool:
        expires, _, _ = value.partition(".")
        # ASCII digits only (`isdigit` also takes `²`, which `int` refuses), and not so many
        # that `int` refuses them either.
        if not (expires.isascii() and expires.isdigit() and len(expires) <= 12):
            return False
        if int(expires) < time.time():
            return False
        return _same(value, self._session(int(expires)))

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
        if self._token is None:
            return RedirectResponse("/", status_code=303)
        body = await _bounded_body(request)
        if body is None:
            return HTMLResponse("login form too large\n", status_code=413)
        form = parse_qs(body.decode(errors="replace"))
        given = (form.get("token") or [""])[0]
        target = _next((form.get("next") or ["/"])[0])
        if not _same(given, self._token):
            return _login(target, failed=True)
        response = RedirectResponse(target, status_code=303)
        secure = "https" in (request.url.scheme, request.headers.get("x-forwarded-proto"))
        response.set_cookie(
            COOKIE,
            self._session(int(time.time()) + SESSION_SECONDS),
            httponly=True,
            samesite="strict",
            secure=secure,
            path="/",
            max_age=SESSION_SECONDS,
        )
        return response

    async def logout(self, _: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response


async def _bounded_body(request: Request) -> bytes | None:
    """The body, or None once it passes MAX_LOGIN_BODY (never held in memory whole)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared[:12]) > MAX_LOGIN_BODY:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_LOGIN_BODY:
            return None
    return body


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
