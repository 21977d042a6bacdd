"""The ASGI application: pages, their JSON, the token gate, static files."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.auth import TokenGate
from dashboard.pages import Pages, is_refusal
from dashboard.settings import DashboardSettings
from dashboard.throttle import Throttle

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from worker import WorkerSettings

HERE = Path(__file__).parent
READ_TIMEOUT = 3.0
"""Every page's reads together give up after this long: a hung Redis shows as down."""


def create_app(settings: DashboardSettings, worker_settings: WorkerSettings) -> Starlette:
    """The dashboard for the fleet `worker_settings` names (its Redis, KEY_PREFIX)."""
    from worker.state.client import read_client
    from worker.state.keys import Keys
    from worker.state.read import FleetReader
    from worker.state.views import FleetViews

    holder: dict[str, Redis] = {}
    gate = TokenGate(settings.token, Throttle())

    def views() -> FleetViews:
        reader = FleetReader(holder["redis"], Keys(worker_settings.key_prefix))
        return FleetViews(
            reader, queue_prefix=worker_settings.queue_prefix, targets=worker_settings.targets
        )

    pages = Pages(views, where=worker_settings.safe_redis_url(), timeout=READ_TIMEOUT, gate=gate)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        holder["redis"] = read_client(
            worker_settings, timeout=READ_TIMEOUT / 2, name="crypto-stats-dashboard"
        )
        try:
            yield
        finally:
            await holder["redis"].aclose()

    async def healthz(_: Request) -> Response:
        """200 when Redis answers a PING, else 503: for a container health check (no token)."""
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                await holder["redis"].ping()
        except Exception as exc:
            if is_refusal(exc):  # a wrong password: Redis answers, and refuses
                return PlainTextResponse("redis refused the login\n", status_code=503)
            return PlainTextResponse("redis unreachable\n", status_code=503)
        return PlainTextResponse("ok\n")

    routes = [
        Route("/healthz", healthz),
        Route("/login", gate.login_page, methods=["GET"]),
        Route("/login", gate.login, methods=["POST"]),
        Route("/logout", gate.logout, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
        *(Route(path, gate.require(page), methods=["GET"]) for path, page in pages.routes()),
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(SecurityHeaders)])


class SecurityHeaders:
    """Every response: no script but the dashboard's own file, no framing, no sniffing (an
    escaping slip still could not run a script from Redis)."""

    HEADERS = (
        (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self._app(scope, receive, with_headers)
