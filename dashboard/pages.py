"""The pages and their JSON: one read of the state per request, rendered server-side.

A page asked with `?fragment=1` (what the refresh script asks every second) is its content
only. When Redis does not answer, the page says so (503) and the next refresh recovers.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from dashboard.chart import lag_svg
from dashboard.render import render

if TYPE_CHECKING:
    from dashboard.auth import TokenGate
    from worker.state.views import FleetViews

logger = logging.getLogger("dashboard")
Read = Callable[["FleetViews"], Awaitable[Any]]
REFRESH_MS = 1000
"""How often a page re-reads its content (a pause shows within about a second)."""

NAV = (
    ("/", "Fleet"),
    ("/tasks", "Tasks"),
    ("/targets", "Targets"),
    ("/queues", "Queues"),
    ("/alerts", "Alerts"),
)


class Pages:
    """Each route: read one view (bounded, timed out), render it as HTML or JSON."""

    def __init__(
        self, views: Callable[[], FleetViews], *, where: str, timeout: float, gate: TokenGate
    ) -> None:
        self._views = views
        self._where = where
        self._timeout = timeout
        self._gate = gate

    def routes(self) -> list[tuple[str, Callable[[Request], Awaitable[Response]]]]:
        return [
            ("/", self.fleet),
            ("/tasks", self.tasks),
            ("/tasks/{name:path}", self.task),
            ("/targets", self.targets),
            ("/queues", self.queues),
            ("/alerts", self.alerts),
            ("/api/fleet", self.fleet_json),
            ("/api/tasks", self.tasks_json),
            ("/api/tasks/{name:path}", self.task_json),
            ("/api/targets", self.targets_json),
            ("/api/queues", self.queues_json),
            ("/api/alerts", self.alerts_json),
        ]

    async def fleet(self, request: Request) -> Response:
        return await self._page(request, "fleet.html", "Fleet", lambda v: v.fleet())

    async def tasks(self, request: Request) -> Response:
        return await self._page(request, "tasks.html", "Tasks", lambda v: v.tasks())

    async def task(self, request: Request) -> Response:
        name = request.path_params["name"]
        data, error = await self._read(lambda v: v.task(name))
        if data is None and error is None:
            return self._html(request, "missing.html", name, {"name": name}, None, 404)
        if data is not None:
            title = f"lag of {name} over its last {len(data['lag'])} runs"
            data = {**data, "chart": Markup(lag_svg(data["lag"], title=title))}
        return self._html(request, "task.html", name, data or {"name": name}, error, None)

    async def targets(self, request: Request) -> Response:
        return await self._page(request, "targets.html", "Targets", lambda v: v.targets())

    async def queues(self, request: Request) -> Response:
        return await self._page(request, "queues.html", "Queues", lambda v: v.queues())

    async def alerts(self, request: Request) -> Response:
        return await self._page(request, "alerts.html", "Alerts", lambda v: v.alerts())

    async def fleet_json(self, _: Request) -> Response:
        return await self._json(lambda v: v.fleet())

    async def tasks_json(self, _: Request) -> Response:
        return await self._json(lambda v: v.tasks())

    async def task_json(self, request: Request) -> Response:
        name = request.path_params["name"]
        return await self._json(lambda v: v.task(name), missing=f"no task named {name!r}")

    async def targets_json(self, _: Request) -> Response:
        return await self._json(lambda v: v.targets())

    async def queues_json(self, _: Request) -> Response:
        return await self._json(lambda v: v.queues())

    async def alerts_json(self, _: Request) -> Response:
        return await self._json(lambda v: v.alerts())

    async def _read(self, read: Read) -> tuple[Any, str | None]:
        """The view's data, or None and why it could not be read (one line, no secret)."""
        from worker import describe_error

        try:
            async with asyncio.timeout(self._timeout):
                return await read(self._views()), None
        except Exception as exc:
            why = describe_error(exc).rstrip(".")
            if is_refusal(exc):  # redis-py makes a wrong password a kind of ConnectionError
                return None, f"Redis at {self._where} refused the read: {why}"
            if _is_outage(exc):
                return None, f"Redis unreachable at {self._where}: {why}"
            if _is_redis_error(exc):  # e.g. a replica that is not the primary
                return None, f"Redis at {self._where} refused the read: {why}"
            logger.error("dashboard read failed", exc_info=exc)
            return None, f"could not read the fleet's state: {why}"

    async def _page(self, request: Request, template: str, title: str, read: Read) -> Response:
        data, error = await self._read(read)
        return self._html(request, template, title, data or {}, error, None)

    def _html(
        self,
        request: Request,
        template: str,
        title: str,
        data: dict[str, Any],
        error: str | None,
        status: int | None,
    ) -> Response:
        context = {
            **data,
            "title": title,
            "error": error,
            "now": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "body": template,
            "nav": NAV,
            "path": request.url.path,
            "refresh_ms": REFRESH_MS,
            "signed_in": self._gate.enabled,
        }
        fragment = request.query_params.get("fragment") == "1"
        code = status or (503 if error else 200)
        try:
            html = render(template if fragment else "page.html", context)
        except Exception as exc:  # a value no template expects: say so, show none of it
            logger.error("dashboard page not rendered", exc_info=exc)
            from worker import describe_error

            context["error"] = f"could not show the fleet's state: {describe_error(exc)}"
            context["body"] = "_status.html"
            html = render("_status.html" if fragment else "page.html", context)
            code = 500
        return HTMLResponse(html, status_code=code, headers={"Cache-Control": "no-store"})

    async def _json(self, read: Read, missing: str | None = None) -> Response:
        data, error = await self._read(read)
        if error is not None:
            return JSONResponse({"error": error}, status_code=503)
        if data is None:
            return JSONResponse({"error": missing or "not found"}, status_code=404)
        try:
            return JSONResponse(data, headers={"Cache-Control": "no-store"})
        except ValueError:  # a NaN from a foreign writer: JSON has no word for it
            return JSONResponse(_finite(data), headers={"Cache-Control": "no-store"})


def _finite(value: Any) -> Any:
    """`value` with every NaN or infinity (which JSON has no word for) as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def is_refusal(exc: BaseException) -> bool:
    """Redis answered and refused the client (a wrong password or user)."""
    from redis.exceptions import AuthenticationError, AuthorizationError

    return isinstance(exc, AuthenticationError | AuthorizationError)


def _is_redis_error(exc: BaseException) -> bool:
    from redis.exceptions import RedisError

    return isinstance(exc, RedisError)


def _is_outage(exc: BaseException) -> bool:
    from worker import is_redis_outage

    return isinstance(exc, TimeoutError | OSError) or is_redis_outage(exc)
