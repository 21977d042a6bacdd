"""DASHBOARD_TOKEN: when set, every page and JSON route needs it, as `Authorization: Bearer
<token>` or through the login form (which sets a session cookie derived from it). A wrong
token or session counts against the client's address (`Throttle`): too many, and it is
refused with 429 for a while."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from enum import Enum
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from dashboard.render import render
from dashboard.throttle import Throttle, client_key

COOKIE = "worker_dashboard"
SESSION_SECONDS = 7 * 86400
"""A sign-in lasts this long (the cookie carries its expiry, signed with the token)."""
MAX_LOGIN_BODY = 4096
"""The login form is a token and a path: a longer body is refused unread."""
Endpoint = Callable[[Request], Awaitable[Response]]


class Credential(Enum):
    GOOD = "good"
    NONE = "none"
    """Nothing to check: no Bearer header, no session cookie (or one past its expiry)."""
    WRONG = "wrong"
    """A Bearer token or session cookie that fails: a guess, counted by the throttle."""


class TokenGate:
    """Lets a request through with the token (header or cookie); sends people to /login and
    programs a 401; refuses (429) an address the throttle has blocked."""

    def __init__(self, token: str | None, throttle: Throttle | None = None) -> None:
        self._token = token
        self._throttle = throttle or Throttle()

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def allows(self, request: Request) -> bool:
        return self._credential(request) is Credential.GOOD

    def _credential(self, request: Request) -> Credential:
        if self._token is None:
            return Credential.GOOD
        found = Credential.NONE
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            if _same(given.strip(), self._token):
                return Credential.GOOD
            found = Credential.WRONG
        session = self._session_state(request.cookies.get(COOKIE, ""))
        if session is not Credential.NONE:
            return session
        return found

    def _session(self, expires: int) -> str:
        """`<expiry>.<HMAC of it keyed by the token>`: a new token ends every session."""
        token = (self._token or "").encode()
        mac = hmac.new(token, f"session:{expires}".encode(), hashlib.sha256).hexdigest()
        return f"{expires}.{mac}"

    def _session_state(self, value: str) -> Credential:
        """A past expiry is no guess (it could never pass, whatever its signature): NONE."""
        if not value:
            return Credential.NONE
        expires, _, _ = value.partition(".")
        # ASCII digits only (`isdigit` also takes `²`, which `int` refuses), and not so many
        # that `int` refuses them either.
        if not (expires.isascii() and expires.isdigit() and len(expires) <= 12):
            return Credential.WRONG
        if int(expires) < time.time():
            return Credential.NONE
        return Credential.GOOD if _same(value, self._session(int(expires))) else Credential.WRONG

    def require(self, endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            client = _client(request)
            wait = self._throttle.retry_after(client)
            if wait:
                return _too_many(request, wait)
            credential = self._credential(request)
            if credential is Credential.GOOD:
                return await endpoint(request)
            if credential is Credential.WRONG:
                self._throttle.failed(client)
            return _refused(request)

        return guarded

    async def login_page(self, request: Request) -> Response:
        if self._token is None:
            return RedirectResponse("/", status_code=303)
        target = _next(request.query_params.get("next"))
        wait = self._throttle.retry_after(_client(request))
        if wait:
            return _login(target, throttled=wait)
        return _login(target)

    async def login(self, request: Request) -> Response:
        if self._token is None:
            return RedirectResponse("/", status_code=303)
        body = await _bounded_body(request)
        if body is None:
            return HTMLResponse("login form too large\n", status_code=413)
        form = parse_qs(body.decode(errors="replace"))
        given = (form.get("token") or [""])[0]
        target = _next((form.get("next") or ["/"])[0])
        # After the body is read: no await between this check and the count below.
        client = _client(request)
        wait = self._throttle.retry_after(client)
        if wait:
            return _login(target, throttled=wait)
        if not _same(given, self._token):
            self._throttle.failed(client)
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


def _login(target: str, *, failed: bool = False, throttled: int = 0) -> HTMLResponse:
    context = {"next": target, "failed": failed, "throttled": throttled, "title": "Sign in"}
    html = render("login.html", context)
    if throttled:
        return HTMLResponse(html, status_code=429, headers={"Retry-After": str(throttled)})
    return HTMLResponse(html, status_code=401 if failed else 200)


def _refused(request: Request) -> Response:
    """401 for programs, the login page for people; a session cookie that did not pass is
    deleted, so a browser stops sending it (it would count against its address each time)."""
    response: Response
    if request.url.path.startswith("/api/"):
        response = JSONResponse(
            {"error": "DASHBOARD_TOKEN required: send Authorization: Bearer <token>"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    else:
        target = quote(request.url.path, safe="/")
        response = RedirectResponse(f"/login?next={target}", status_code=303)
    if COOKIE in request.cookies:
        response.delete_cookie(COOKIE, path="/")
    return response


def _too_many(request: Request, wait: int) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse(
            {"error": f"too many failed authentications from this address: retry after {wait} s"},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    return _login(_next(quote(request.url.path, safe="/")), throttled=wait)


def _client(request: Request) -> str:
    """The socket peer (uvicorn runs without proxy headers: see cli.py)."""
    return client_key(request.client.host if request.client else None)


def _next(value: str | None) -> str:
    """Only a path on this site (never `//host` or a URL): no open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _same(given: str, expected: str) -> bool:
    """Constant time, the length included (compare_digest returns early on a length mismatch:
    digests have one length)."""
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(expected.encode()).digest())
