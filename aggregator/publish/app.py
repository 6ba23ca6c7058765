"""The ASGI application (Starlette).

Starlette with uvicorn: small, well kept, no build step, and it runs in a thread beside
the scheduler in one process.  Each part of the site contributes its routes from its own
module; this one assembles them and owns the shared state (``request.app.state``):
``storage``, ``settings``, ``metrics``, ``health``, ``boilerplate`` (a cached model),
``title_affixes`` (each feed's learned title affixes, cached too), ``pipeline`` (the writer
for corrections, None until ``aggregator serve`` needs one), ``write_lock`` (held by
whoever writes: the scheduler's poll, a correction) and ``session_key`` (signs the web
face's session cookies).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aggregator.config import Settings
from aggregator.errors import StorageError
from aggregator.ingest.metrics import Health, Metrics
from aggregator.publish import (
    api,
    corrections,
    explaining,
    feeds,
    fever,
    greader,
    manage,
    openapi,
    pages,
    search,
)
from aggregator.publish.context import BoilerplateCache, TitleAffixCache
from aggregator.publish.hosts import HostGuard
from aggregator.publish.session import SessionKey
from aggregator.publish.views import iso
from aggregator.storage import Storage

if TYPE_CHECKING:
    from aggregator.ingest.pipeline import Pipeline

log = logging.getLogger("aggregator.publish")

STATIC = Path(__file__).parent / "static"

SECURITY_HEADERS = [
    # Pages carry text from feeds; even if something slipped through the escaping, the
    # browser may run no script, load nothing from elsewhere and not be framed.
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; "
        b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response (a plain ASGI middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def healthz(request: Request) -> JSONResponse:
    health: Health | None = request.app.state.health
    if health is None:  # `aggregator serve`: no scheduler in this process
        return JSONResponse({"status": "ok", "scheduler": "not running in this process"})
    now = datetime.now(UTC)
    running = health.scheduler_running
    failing = health.failing_jobs()
    ok = running and not failing
    body = {
        "status": "ok" if ok else ("failing" if running else "down"),
        "scheduler": "running" if running else "stopped",
        "last_poll": iso(health.last_poll),
        "seconds_since_last_poll": None
        if health.last_poll is None
        else round((now - health.last_poll).total_seconds(), 1),
        "last_cycle_error": health.last_cycle_error,
        "consecutive_failures": {job: n for job, n in sorted(health.failures.items()) if n},
        "failing": sorted(failing),
        "role": health.role,
    }
    return JSONResponse(body, status_code=200 if ok else 503)


async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _wants_json(request: Request) -> bool:
    """Machines get JSON errors (API, feeds, health); people get a page."""
    path = request.url.path
    if path == "/api/docs":
        return False
    return path.startswith(("/api/", "/feed.", "/opml", "/static/", "/healthz", "/metrics"))


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    411: "Length required",
    413: "Too large",
    500: "Internal error",
    503: "Unavailable",
}


def error_response(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    if _wants_json(request):
        return JSONResponse(
            {"error": {"status": status, "message": message}},
            status_code=status,
            headers=dict(headers or {}),
        )
    response = pages.render(
        request,
        "error.html",
        {"status": status, "title": _TITLES.get(status, "Error"), "message": message},
        status_code=status,
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = (
        exc.detail
        if exc.status_code != 404 or exc.detail != "Not Found"
        else f"nothing at {request.url.path}"
    )
    return error_response(request, exc.status_code, message, exc.headers)


async def _storage_error(request: Request, exc: Exception) -> Response:
    log.error("event=request-failed path=%s error=%r", request.url.path, str(exc))
    return error_response(request, 503, "the database is not available right now")


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("event=request-bug path=%s", request.url.path, exc_info=exc)
    return error_response(request, 500, "internal error (see the server log)")


def create_app(
    storage: Storage,
    settings: Settings,
    metrics_: Metrics | None = None,
    health: Health | None = None,
    extra_routes: list[BaseRoute] | None = None,
    *,
    pipeline: Pipeline | None = None,
    write_lock: threading.Lock | None = None,
) -> Starlette:
    """The whole web face.  ``pipeline`` and ``write_lock``: the daemon's writer and the lock
    its scheduler holds while polling, so corrections never write beside a poll."""
    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        *feeds.routes(),
        *api.routes(),
        *corrections.routes(),
        *explaining.routes(),
        *greader.routes(),
        *fever.routes(),
        *openapi.routes(),
        *pages.routes(),
        *search.routes(),
        *manage.routes(),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        *(extra_routes or []),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: _http_error,
            StorageError: _storage_error,
            500: _server_error,
        },
    )
    app.add_middleware(SecurityHeaders)
    # Outermost: the Host rule applies before anything reads the request's address.
    app.add_middleware(HostGuard, server=settings.server)
    app.state.storage = storage
    app.state.settings = settings
    app.state.metrics = metrics_ or Metrics()
    app.state.health = health
    app.state.boilerplate = BoilerplateCache()
    app.state.title_affixes = TitleAffixCache()
    app.state.feed_cache = feeds.RenderCache()
    app.state.pipeline = pipeline
    app.state.write_lock = write_lock or threading.Lock()
    app.state.session_key = SessionKey()
    return app
