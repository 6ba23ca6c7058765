"""The Host rule: which address the web face writes into absolute URLs.

Absolute URLs (a feed's ``self`` and cluster links, the JSON Feed's ``feed_url``, the
redirects Starlette makes) are built from the request's Host header.  A client that names
``Host: evil.example`` must not get ``http://evil.example/…`` into a response a shared
cache then hands to everyone, so this middleware, in front of every route:

* with ``server.base_url`` set, replaces the request's scheme and Host by the base URL's
  before anything reads them: every absolute URL starts with it;
* otherwise lets through only a Host named in ``server.allowed_hosts`` (by default the
  loopback names and ``server.host``; see :meth:`ServerConfig.hosts_allowed`) and answers
  any other with 400.  A request without a Host header is served (its URLs are the
  listening address's).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from aggregator.config import ServerConfig

__all__ = ["HostGuard", "host_allowed", "host_name"]


def host_name(header: str) -> str:
    """The host of a Host header, lower case, without port or IPv6 brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    if header.count(":") == 1:
        return header.partition(":")[0]
    return header


def host_allowed(name: str, allowed: Sequence[str]) -> bool:
    """Whether ``name`` (from :func:`host_name`) is one of ``allowed`` (``*.example.org``
    matches its subdomains, ``*`` anything)."""
    name = name.rstrip(".")
    for pattern in allowed:
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


class HostGuard:
    """Plain ASGI middleware applying the Host rule (see the module's docstring)."""

    def __init__(self, app: ASGIApp, server: ServerConfig) -> None:
        self.app = app
        self.allowed = server.hosts_allowed()
        self.base: tuple[str, bytes] | None = None
        if server.base_url is not None:
            parts = urlsplit(server.base_url)
            self.base = (parts.scheme, parts.netloc.encode("latin-1"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
        host = next((v for k, v in headers if k == b"host"), None)
        if (
            self.allowed is not None
            and host is not None
            and not host_allowed(host_name(host.decode("latin-1")), self.allowed)
        ):
            await _refuse(send)
            return
        if self.base is not None:
            scheme, netloc = self.base
            headers = [(k, v) for k, v in headers if k != b"host"] + [(b"host", netloc)]
            if scope["type"] == "websocket":
                scheme = "wss" if scheme == "https" else "ws"
            scope = {**scope, "scheme": scheme, "headers": headers}
        await self.app(scope, receive, send)


async def _refuse(send: Send) -> None:
    body = json.dumps(
        {"error": {"status": 400, "message": "this server does not answer to that Host"}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
