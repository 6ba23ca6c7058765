"""Serve the ASGI app with uvicorn: in a background thread (daemon) or in the foreground."""

from __future__ import annotations

import threading
import time

import uvicorn
from starlette.applications import Starlette


class BackgroundServer:
    """uvicorn in a thread, so the scheduler and the web face share one process."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="off", access_log=False
        )
        # Run outside the main thread, uvicorn leaves signals to the daemon.
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise OSError("the HTTP server could not start (is the port in use?)")
            if time.monotonic() > deadline:
                raise OSError("the HTTP server did not start in time")
            time.sleep(0.02)

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)


def serve_forever(app: Starlette, host: str, port: int) -> None:
    uvicorn.run(app, host=host, port=port, log_level="info")
