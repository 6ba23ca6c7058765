"""The ASGI application (Starlette).

Starlette with uvicorn: small, well kept, no build step, and it runs in a thread beside
the scheduler in one process.  Each part of the site contributes its routes from its own
module; this one assembles them and owns the shared state (``request.app.state``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from aggregator.config import Settings
from aggregator.metrics import Health, Metrics
from aggregator.storage import Storage
from aggregator.views import iso


async def healthz(request: Request) -> JSONResponse:
    health: Health | None = request.app.state.health
    if health is None:  # `aggregator serve`: no scheduler in this process
        return JSONResponse({"status": "ok", "scheduler": "not running in this process"})
    now = datetime.now(UTC)
    ok = health.scheduler_running
    body = {
        "status": "ok" if ok else "down",
        "scheduler": "running" if ok else "stopped",
        "last_poll": iso(health.last_poll),
        "seconds_since_last_poll": None if health.last_poll is None
        else round((now - health.last_poll).total_seconds(), 1),
        "last_cycle_error": health.last_cycle_error,
    }
    return JSONResponse(body, status_code=200 if ok else 503)


async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def create_app(storage: Storage, settings: Settings, metrics_: Metrics | None = None,
               health: Health | None = None, extra_routes: list[BaseRoute] | None = None
               ) -> Starlette:
    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        *(extra_routes or []),
    ]
    app = Starlette(routes=routes)
    app.state.storage = storage
    app.state.settings = settings
    app.state.metrics = metrics_ or Metrics()
    app.state.health = health
    return app
