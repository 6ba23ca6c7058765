"""A real HTTP server on 127.0.0.1 that plays well-behaved and hostile feed servers.

Every route is a case the daemon must survive; the server records each request (path,
headers, status sent, time) so tests can check what the client asked for and when.

Routes (``?delay=SECONDS`` on any of them waits before answering):

==========================  ===============================================================
``/feed/NAME``              RSS from :meth:`HostileServer.set_feed`, with ETag and
                            Last-Modified, 304 on a matching conditional request
``/status/CODE``            that status; ``?retry_after=VALUE`` adds a Retry-After header
``/moved/NAME``             301 to ``/feed/NAME`` (``/moved308/NAME``: 308)
``/gone``                   410 Gone
``/loop``                   302 to itself, forever
``/no-location``            302 without a Location
``/big``                    a chunked body of ``big_bytes`` (no Content-Length)
``/big-declared``           Content-Length of ``big_bytes``, then the body
``/gzip-bomb``              gzip of 50 MB of zeros (~50 kB on the wire); ``/deflate-bomb``
``/bad-gzip``               ``Content-Encoding: gzip`` over bytes that are not gzip
``/drip``                   a valid-looking feed, one byte per second, for a minute
``/hang``                   accepts the request, then says nothing for a minute
``/truncated``              declares 10,000 bytes, sends 100, closes the connection
``/html``                   an HTML page served as text/html
``/random``                 64 kB of random bytes served as application/rss+xml
``/lying-encoding``         says UTF-8 (header and XML declaration), is Windows-1252
``/utf16-claims-utf8``      UTF-16 bytes under a UTF-8 declaration
``/billion-laughs``         nested internal entities ("billion laughs")
``/xxe``                    external entities naming /etc/passwd and ``/xxe-target``
``/empty``                  200 with an empty body
``/whitespace``             200 with only whitespace
``/thousands``              one feed with ``thousands`` entries
``/ttl``                    RSS with ``<ttl>120</ttl>``
``/max-age``                RSS with ``Cache-Control: max-age=7200``
``/static/PATH``            files under ``static_root`` (e.g. feedparser's test corpus)
==========================  ===============================================================
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.feeds import html, rss, story

BOMB_BYTES = 50 * 1024 * 1024
HANG_SECONDS = 60.0
"""How long ``/hang`` says nothing (``/drip`` takes longer still)."""
HOSTILE_ROUTES = (
    "/status/404",
    "/status/500",
    "/status/503?retry_after=120",
    "/gone",
    "/loop",
    "/no-location",
    "/big",
    "/big-declared",
    "/gzip-bomb",
    "/deflate-bomb",
    "/bad-gzip",
    "/drip",
    "/hang",
    "/truncated",
    "/html",
    "/random",
    "/lying-encoding",
    "/utf16-claims-utf8",
    "/billion-laughs",
    "/xxe",
    "/empty",
    "/whitespace",
)
"""Routes that must end as an error (or a warning) on their feed and harm nothing else."""


@dataclass(frozen=True)
class Seen:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    status: int
    at: float
    """time.monotonic() when the request arrived."""
    host: str


def feed_items(name: str, count: int, first_seed: int = 0) -> list[dict[str, str]]:
    """``count`` distinct stories for the feed ``name``."""
    return [
        {
            "guid": f"{name}-{i}",
            "title": f"{name} story {i}",
            "link": f"https://{name}.example/{i}",
            "html": html(story(first_seed + i)),
        }
        for i in range(count)
    ]


@functools.cache
def _bomb(coding: str) -> bytes:
    """50 MB of zeros compressed to ~50 kB (made once per test session)."""
    zeros = b"\0" * BOMB_BYTES
    return gzip.compress(zeros, compresslevel=9) if coding == "gzip" else zlib.compress(zeros, 9)


def _billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [' + "\n".join(entities) + "]>\n"
        '<rss version="2.0"><channel><title>laughs</title><link>https://x.example/</link>'
        "<description>d</description><item><title>&lol9;</title><guid>l1</guid>"
        "<description>&lol9;</description></item></channel></rss>"
    ).encode()


class Meter:
    """Requests in progress at once, per host and in all: shared by servers on several
    loopback addresses to check the client's per-host and global limits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[str, int] = {}
        self.max_active: dict[str, int] = {}
        self.max_total = 0

    def enter(self, host: str) -> None:
        with self._lock:
            self._active[host] = self._active.get(host, 0) + 1
            self.max_active[host] = max(self.max_active.get(host, 0), self._active[host])
            self.max_total = max(self.max_total, sum(self._active.values()))

    def leave(self, host: str) -> None:
        with self._lock:
            self._active[host] -= 1


class HostileServer:
    """``with HostileServer() as server: server.url("/gone")`` — threads, loopback only."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        static_root: Path | None = None,
        big_bytes: int = 4 * 1024 * 1024,
        thousands: int = 3000,
        meter: Meter | None = None,
    ) -> None:
        self.host = host
        self.static_root = static_root
        self.big_bytes = big_bytes
        self.thousands = thousands
        self.meter = meter or Meter()
        self._feeds: dict[str, bytes] = {}
        self._seen: list[Seen] = []
        self._begun: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll: shutdown() waits until the serving loop next looks, and its
        # default poll would make each server's end wait a good part of a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="hostile", daemon=True
        )

    # -- life cycle ---------------------------------------------------------------------

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    # -- content and records ------------------------------------------------------------

    def set_feed(self, name: str, items: list[dict[str, str]], ttl: int | None = None) -> None:
        body = rss(name, items)
        if ttl is not None:
            body = body.replace(
                b"<description>test</description>",
                f"<description>test</description><ttl>{ttl}</ttl>".encode(),
            )
        with self._lock:
            self._feeds[name] = body

    def requests(self, path: str | None = None) -> list[Seen]:
        """Requests seen so far, all or those for exactly ``path`` (query string ignored)."""
        with self._lock:
            return [s for s in self._seen if path is None or s.path == path]

    def started(self, path: str) -> int:
        """Requests for exactly ``path`` begun so far, answered or not (a drip is recorded
        by :meth:`requests` only once it ends)."""
        with self._lock:
            return self._begun.count(path)

    def _begin(self, path: str) -> None:
        with self._lock:
            self._begun.append(path)

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self._seen.append(seen)

    def feed_body(self, name: str) -> bytes | None:
        with self._lock:
            return self._feeds.get(name)


def _handler_for(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        owner = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    owner: HostileServer
    protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, as real servers do

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the test output stays readable; requests are recorded instead

    def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        host = self.connection.getsockname()[0]
        self._status = 0
        started = time.monotonic()
        self.owner._begin(parts.path)
        try:
            if "delay" in query:
                # Metered only while waiting: once the answer is sent the client may start
                # its next request before this thread gets to count this one as done.
                self.owner.meter.enter(host)
                try:
                    time.sleep(float(query["delay"]))
                finally:
                    self.owner.meter.leave(host)
            self._route(parts.path, query)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (deadline, size cap): fine
        finally:
            self.owner._record(
                Seen(parts.path, dict(self.headers.items()), self._status, started, host)
            )

    # -- plumbing -------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "application/rss+xml",
        headers: dict[str, str] | None = None,
    ) -> None:
        self._status = status
        self.send_response(status)
        if status not in (204, 304):
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if status not in (204, 304):
            self.wfile.write(body)

    def _chunked(self, chunks: Iterator[bytes], headers: dict[str, str] | None = None) -> None:
        self._status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _route(self, path: str, query: dict[str, str]) -> None:
        head, _, rest = path.lstrip("/").partition("/")
        handler = _ROUTES.get(head)
        if handler is None:
            self._send(404, b"no such route", "text/plain")
            return
        handler(self, rest, query)

    # -- well-behaved ---------------------------------------------------------------------

    def feed(self, name: str, query: dict[str, str]) -> None:
        body = self.owner.feed_body(name)
        if body is None:
            self._send(404, b"no such feed", "text/plain")
            return
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        last_modified = formatdate(1_700_000_000 + len(body), usegmt=True)
        validators = {"ETag": etag, "Last-Modified": last_modified}
        if self.headers.get("If-None-Match") == etag:
            self._send(304, headers=validators)
            return
        self._send(200, body, headers=validators)

    def status(self, code: str, query: dict[str, str]) -> None:
        headers = {"Retry-After": query["retry_after"]} if "retry_after" in query else {}
        self._send(int(code), f"status {code}".encode(), "text/plain", headers)

    def moved(self, name: str, query: dict[str, str]) -> None:
        self._send(301, b"", "text/plain", {"Location": f"/feed/{name}"})

    def moved308(self, name: str, query: dict[str, str]) -> None:
        self._send(308, b"", "text/plain", {"Location": f"/feed/{name}"})

    def static(self, rest: str, query: dict[str, str]) -> None:
        root = self.owner.static_root
        target = (root / rest).resolve() if root else None
        if (
            root is None
            or target is None
            or not target.is_file()
            or not target.is_relative_to(root.resolve())
        ):
            self._send(404, b"not found", "text/plain")
            return
        self._send(200, target.read_bytes(), "application/xml")

    # -- hostile --------------------------------------------------------------------------

    def gone(self, rest: str, query: dict[str, str]) -> None:
        self._send(410, b"this feed is gone", "text/plain")

    def loop(self, rest: str, query: dict[str, str]) -> None:
        self._send(302, b"", "text/plain", {"Location": "/loop"})

    def no_location(self, rest: str, query: dict[str, str]) -> None:
        self._send(302, b"found, somewhere", "text/plain")

    def big(self, rest: str, query: dict[str, str]) -> None:
        block = b"<!-- " + b"x" * 65_000 + b" -->"
        count = self.owner.big_bytes // len(block) + 1
        self._chunked(iter([block] * count))

    def big_declared(self, rest: str, query: dict[str, str]) -> None:
        self._send(200, b"x" * self.owner.big_bytes)

    def gzip_bomb(self, rest: str, query: dict[str, str]) -> None:
        self._send(200, _bomb("gzip"), headers={"Content-Encoding": "gzip"})

    def deflate_bomb(self, rest: str, query: dict[str, str]) -> None:
        self._send(200, _bomb("deflate"), headers={"Content-Encoding": "deflate"})

    def bad_gzip(self, rest: str, query: dict[str, str]) -> None:
        self._send(200, b"this is not gzip at all" * 10, headers={"Content-Encoding": "gzip"})

    def drip(self, rest: str, query: dict[str, str]) -> None:
        def slowly() -> Iterator[bytes]:
            for byte in b'<?xml version="1.0"?><rss version="2.0"><channel>' + b" " * 60:
                yield bytes([byte])
                time.sleep(1.0)

        self._chunked(slowly())

    def hang(self, rest: str, query: dict[str, str]) -> None:
        time.sleep(HANG_SECONDS)
        self._send(200, rss("late", []))

    def truncated(self, rest: str, query: dict[str, str]) -> None:
        self._status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", "10000")
        self.end_headers()
        self.wfile.write(rss("cut", feed_items("cut", 3))[:100])
        self.close_connection = True

    def html_page(self, rest: str, query: dict[str, str]) -> None:
        page = (
            b"<!DOCTYPE html><html><head><title>Welcome</title></head><body>"
            b"<h1>Our site</h1><p>There is no feed here.</p></body></html>"
        )
        self._send(200, page, "text/html; charset=utf-8")

    def random_bytes(self, rest: str, query: dict[str, str]) -> None:
        self._send(200, random.Random(7).randbytes(64 * 1024))

    def lying_encoding(self, rest: str, query: dict[str, str]) -> None:
        body = rss(
            "Liar",
            [
                {
                    "guid": "liar-1",
                    "title": "Café crème à la façon de René",
                    "link": "https://liar.example/1",
                    "html": html(story(501)),
                }
            ],
        )
        body = body.decode("utf-8").encode("windows-1252")  # declaration still says utf-8
        self._send(200, body, "application/rss+xml; charset=utf-8")

    def utf16_claims_utf8(self, rest: str, query: dict[str, str]) -> None:
        body = rss("Sixteen", feed_items("sixteen", 2)).decode("utf-8").encode("utf-16-le")
        self._send(200, body, "application/rss+xml; charset=utf-8")

    def billion_laughs(self, rest: str, query: dict[str, str]) -> None:
        self._send(200, _billion_laughs())

    def xxe(self, rest: str, query: dict[str, str]) -> None:
        target = self.owner.url("/xxe-target")
        body = (
            '<?xml version="1.0"?>\n<!DOCTYPE rss [\n'
            '<!ENTITY passwd SYSTEM "file:///etc/passwd">\n'
            f'<!ENTITY remote SYSTEM "{target}">\n]>\n'
            '<rss version="2.0"><channel><title>xxe</title><link>https://x.example/</link>'
            "<description>d</description><item><guid>xxe-1</guid><title>a &passwd; b"
            "</title><description>c &remote; d</description></item></channel></rss>"
        )
        self._send(200, body.encode())

    def xxe_target(self, rest: str, query: dict[str, str]) -> None:
        self._send(200, b"SECRET-FROM-XXE-TARGET", "text/plain")

    def empty(self, rest: str, query: dict[str, str]) -> None:
        self._send(200, b"")

    def whitespace(self, rest: str, query: dict[str, str]) -> None:
        self._send(200, b"   \n\t \r\n  ")

    def thousands(self, rest: str, query: dict[str, str]) -> None:
        items = [
            {
                "guid": f"t-{i}",
                "title": f"Item {i}",
                "link": f"https://t.example/{i}",
                "html": html(story(10_000 + i, paragraphs=1, words=30)),
            }
            for i in range(self.owner.thousands)
        ]
        self._send(200, rss("Thousands", items), headers={"ETag": '"thousands"'})

    def ttl(self, rest: str, query: dict[str, str]) -> None:
        body = rss("TTL", feed_items("ttl", 1)).replace(
            b"<description>test</description>", b"<description>test</description><ttl>120</ttl>"
        )
        self._send(200, body)

    def max_age(self, rest: str, query: dict[str, str]) -> None:
        self._send(
            200,
            rss("Cached", feed_items("cached", 1)),
            headers={"Cache-Control": "public, max-age=7200"},
        )


_ROUTES: dict[str, Callable[[_Handler, str, dict[str, str]], None]] = {
    "feed": _Handler.feed,
    "status": _Handler.status,
    "moved": _Handler.moved,
    "moved308": _Handler.moved308,
    "static": _Handler.static,
    "gone": _Handler.gone,
    "loop": _Handler.loop,
    "no-location": _Handler.no_location,
    "big": _Handler.big,
    "big-declared": _Handler.big_declared,
    "gzip-bomb": _Handler.gzip_bomb,
    "deflate-bomb": _Handler.deflate_bomb,
    "bad-gzip": _Handler.bad_gzip,
    "drip": _Handler.drip,
    "hang": _Handler.hang,
    "truncated": _Handler.truncated,
    "html": _Handler.html_page,
    "random": _Handler.random_bytes,
    "lying-encoding": _Handler.lying_encoding,
    "utf16-claims-utf8": _Handler.utf16_claims_utf8,
    "billion-laughs": _Handler.billion_laughs,
    "xxe": _Handler.xxe,
    "xxe-target": _Handler.xxe_target,
    "empty": _Handler.empty,
    "whitespace": _Handler.whitespace,
    "thousands": _Handler.thousands,
    "ttl": _Handler.ttl,
    "max-age": _Handler.max_age,
}
