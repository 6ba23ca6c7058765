"""The only network code: one conditional GET of one feed, within limits.

Limits that hold against hostile servers: a socket timeout *and* a total deadline
(a server dripping one byte a second cannot hold a worker), a cap on the body size
counted after decompression and enforced while decompressing (so a gzip bomb never
inflates more than one small step past ``max_bytes``), a redirect cap.  Local paths and
``file://`` URLs are read from disk with the same size cap.  Many fetches at once:
:mod:`aggregator.fetch.pool`.

Every hop is held to the fetch policy (:mod:`aggregator.fetch.policy`): redirects are
followed here, one at a time, and each connection is made by :class:`_CheckedBackend`,
which resolves the host, checks every address and connects to a checked one.
"""

from __future__ import annotations

import ssl
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpcore
import httpx

from aggregator import __version__
from aggregator.errors import FetchError
from aggregator.fetch.policy import (
    TRUSTED_ORIGINS,
    FetchPolicy,
    PolicyRefused,
    parse_address,
    refusal,
    resolve,
)
from aggregator.types import FeedToPoll, FetchResult

USER_AGENT = f"aggregator/{__version__} (feed aggregator that merges syndicated copies)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
ACCEPT_ENCODING = "gzip, deflate"
"""Only what :class:`_Decoder` can inflate step by step (no brotli/zstd bombs)."""
DECODE_STEP = 64 * 1024
"""Most bytes one call may inflate: the memory a decompression bomb can claim per step."""


@dataclass(frozen=True)
class FetchLimits:
    timeout: float = 30.0
    """Seconds for connect and for each read, and the total deadline of one fetch."""
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = USER_AGENT
    per_host: int = 2
    """Fetches in flight to one host at once: politeness towards sites with many feeds."""


_PUBLIC_ONLY = "aggregator.public_only"
"""The request extension that sends a request through the connections that may reach
public (or allowed) addresses only."""
_REDIRECTS = (301, 302, 303, 307, 308)


class _CheckedBackend(httpcore.NetworkBackend):
    """Opens the TCP connections of one pool: resolves the host itself, checks every
    address it resolves to (when the pool is the public-only one), then connects to those
    checked addresses — never to a second, unchecked lookup.  A connect failure has one
    text, whether the port was closed, filtered or unreachable."""

    def __init__(self, policy: FetchPolicy, public_only: bool) -> None:
        self._policy = policy
        self._public_only = public_only
        self._plain = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        if self._public_only:
            for text in addresses:
                address = parse_address(text)
                if address is None or not self._policy.allows(address):
                    raise PolicyRefused(refusal(host))
        for text in addresses:
            try:
                return self._plain.connect_tcp(
                    text, port, timeout, local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue  # the next address, as socket.create_connection would
        raise httpcore.ConnectError(f"no connection to {host} port {port}")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for feeds")

    def sleep(self, seconds: float) -> None:
        self._plain.sleep(seconds)


def _pooled(limits: httpx.Limits, ssl_context: ssl.SSLContext, backend: _CheckedBackend) -> Any:
    """An httpx transport over an httpcore pool whose connections ``backend`` opens (httpx
    has no parameter for the network backend, so its pool is replaced before first use)."""
    transport = httpx.HTTPTransport(verify=ssl_context, limits=limits, trust_env=False)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=backend,
    )
    return transport


class _PolicyTransport(httpx.BaseTransport):
    """Two connection pools: one whose connections may go anywhere (a config-file feed's
    own server, before any hop reached a public address) and one whose connections were
    all checked to reach public or allowed addresses.  A request marked public-only never
    reuses a connection of the other pool."""

    def __init__(self, policy: FetchPolicy, limits: httpx.Limits) -> None:
        context = httpx.create_ssl_context(trust_env=False)
        self._open = _pooled(limits, context, _CheckedBackend(policy, public_only=False))
        self._public = _pooled(limits, context, _CheckedBackend(policy, public_only=True))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._public if request.extensions.get(_PUBLIC_ONLY) else self._open
        response: httpx.Response = pool.handle_request(request)
        return response

    def close(self) -> None:
        self._open.close()
        self._public.close()


def new_client(
    limits: FetchLimits, connections: int = 8, policy: FetchPolicy | None = None
) -> httpx.Client:
    """One client per worker pool: connection reuse across feeds of a host.  Redirects are
    followed by :func:`fetch`, which checks each hop against ``policy``."""
    pool_limits = httpx.Limits(
        max_connections=max(connections, 1), max_keepalive_connections=max(connections, 1)
    )
    return httpx.Client(
        transport=_PolicyTransport(policy or FetchPolicy(), pool_limits),
        follow_redirects=False,
        timeout=httpx.Timeout(limits.timeout),
        headers={
            "User-Agent": limits.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        trust_env=False,
    )


def fetch(
    feed: FeedToPoll,
    limits: FetchLimits,
    client: httpx.Client | None = None,
    policy: FetchPolicy | None = None,
) -> FetchResult:
    """Fetch ``feed.fetch_url``; raise ``FetchError`` (naming the feed) on any failure.

    ``client`` must come from :func:`new_client` (with the same ``policy``)."""
    policy = policy or FetchPolicy()
    url = feed.fetch_url
    scheme = urlsplit(url).scheme.lower()
    trusted = feed.origin in TRUSTED_ORIGINS
    if scheme in ("http", "https"):
        if client is None:
            with new_client(limits, 1, policy) as own:
                return _fetch_http(feed, limits, own, policy, public_only=not trusted)
        return _fetch_http(feed, limits, client, policy, public_only=not trusted)
    if not trusted:
        raise FetchError(
            feed.url, "only http and https URLs are fetched for feeds from outside the config file"
        )
    if not policy.local_files:
        raise FetchError(feed.url, "local files are not read (fetch.local_files is false)")
    return _fetch_file(feed, limits)


def _local_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.scheme.lower() == "file":
        return Path(unquote(parts.path))
    return Path(url)


def _fetch_file(feed: FeedToPoll, limits: FetchLimits) -> FetchResult:
    path = _local_path(feed.fetch_url)
    try:
        with path.open("rb") as handle:
            body = handle.read(limits.max_bytes + 1)
    except FileNotFoundError:
        raise FetchError(feed.url, f"file not found: {path}") from None
    except OSError as exc:
        raise FetchError(feed.url, f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(body) > limits.max_bytes:
        raise FetchError(feed.url, f"file larger than max_bytes ({limits.max_bytes})")
    content_type = "application/json" if body.lstrip().startswith(b"{") else "application/xml"
    return FetchResult(
        url=feed.url,
        final_url=feed.fetch_url,
        status=200,
        body=body,
        headers={"content-type": content_type},
    )


def _fetch_http(
    feed: FeedToPoll,
    limits: FetchLimits,
    client: httpx.Client,
    policy: FetchPolicy,
    public_only: bool,
) -> FetchResult:
    """GET with conditional headers, following redirects hop by hop: a hop must be http(s);
    once a hop reached a public address (or from the start, for a feed from outside the
    config file) every later hop must reach public addresses too."""
    headers: dict[str, str] = {}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    deadline = time.monotonic() + limits.timeout
    history: list[int] = []
    request = client.build_request(
        "GET", feed.fetch_url, headers=headers, extensions={_PUBLIC_ONLY: public_only}
    )
    try:
        while True:
            response = client.send(request, stream=True)
            try:
                public_only = public_only or _reached_public(response, policy)
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    if len(history) >= limits.max_redirects:
                        raise FetchError(
                            feed.url, f"too many redirects (more than {limits.max_redirects})"
                        )
                    request = _next_hop(feed, client, response, public_only)
                    history.append(response.status_code)
                    continue
                if response.status_code == 304:
                    return _result(feed, response, None, history)
                if not 200 <= response.status_code < 300:
                    # 4xx/5xx, and a 3xx without a Location to follow.
                    raise FetchError(
                        feed.url,
                        f"HTTP {response.status_code} {response.reason_phrase}".rstrip(),
                        status=response.status_code,
                        headers=_headers(response),
                    )
                body = _read_capped(feed, response, limits, deadline)
                return _result(feed, response, body, history)
            finally:
                response.close()
    except FetchError:
        raise
    except PolicyRefused as exc:
        raise FetchError(feed.url, str(exc)) from None
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        # One text for a closed, a filtered and an unreachable port (a timeout while
        # connecting included): the error must not map someone else's network.
        tls = isinstance(_innermost(exc), ssl.SSLError)
        raise FetchError(
            feed.url, f"TLS error: {_reason(exc)}" if tls else f"cannot connect: {_reason(exc)}"
        ) from exc
    except httpx.TimeoutException as exc:
        raise FetchError(feed.url, f"timed out ({exc.__class__.__name__})") from exc
    except httpx.HTTPError as exc:
        raise FetchError(feed.url, f"{exc.__class__.__name__}: {_reason(exc)}") from exc
    except zlib.error as exc:
        raise FetchError(feed.url, f"cannot decompress the body: {exc}") from exc
    except (ValueError, OSError) as exc:  # a reset socket, a malformed response
        raise FetchError(feed.url, f"{exc.__class__.__name__}: {exc}") from exc


def _reached_public(response: httpx.Response, policy: FetchPolicy) -> bool:
    """Did this hop's connection reach a public address (or one of the networks the
    operator allowed, which count as public)?  Unknown counts as yes: the stricter rule
    then holds for the next hops."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer:
        return True
    address = parse_address(str(peer[0]))
    return address is None or policy.allows(address)


def _next_hop(
    feed: FeedToPoll, client: httpx.Client, response: httpx.Response, public_only: bool
) -> httpx.Request:
    """The request a redirect asks for, if the policy lets it be made."""
    try:
        target = response.next_request
    except httpx.HTTPError as exc:  # a Location that is no URL at all
        raise FetchError(feed.url, f"bad redirect: {_reason(exc)}") from exc
    if target is None:  # httpx found no usable Location
        raise FetchError(feed.url, f"HTTP {response.status_code} with an unusable Location")
    if target.url.scheme not in ("http", "https"):
        raise FetchError(
            feed.url, "refused by the fetch policy: a redirect may lead only to http or https"
        )
    return client.build_request(
        target.method,
        target.url,
        headers=target.headers,
        extensions={_PUBLIC_ONLY: public_only},
    )


def _innermost(exc: BaseException) -> BaseException:
    seen = {id(exc)}
    while (cause := exc.__cause__ or exc.__context__) is not None and id(cause) not in seen:
        seen.add(id(cause))
        exc = cause
    return exc


def _reason(exc: Exception) -> str:
    """The innermost cause's text: "[Errno -2] Name or service not known", not a repr chain."""
    text = str(_innermost(exc)).strip() or str(exc).strip()
    return text.splitlines()[0][:300] if text else exc.__class__.__name__


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()}


def _read_capped(
    feed: FeedToPoll, response: httpx.Response, limits: FetchLimits, deadline: float
) -> bytes:
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isascii() and declared.isdigit() and int(declared) > limits.max_bytes:
        # Compressed or not, the raw body alone is already over the cap.
        raise FetchError(
            feed.url, f"body of {declared} bytes exceeds max_bytes ({limits.max_bytes}); not read"
        )
    decoder = _Decoder.chain(feed, response.headers.get("Content-Encoding", ""))
    chunks: list[bytes] = []
    size = raw_size = 0
    # Raw bytes in, inflated in bounded steps out: the cap is checked after every step.
    for raw in response.iter_raw():
        raw_size += len(raw)
        if raw_size > limits.max_bytes:
            raise FetchError(feed.url, f"body exceeds max_bytes ({limits.max_bytes}); cut off")
        for chunk in decoder.decode(raw):
            size += len(chunk)
            if size > limits.max_bytes:
                raise FetchError(
                    feed.url,
                    f"body exceeds max_bytes ({limits.max_bytes}) after decompression; cut off",
                )
            chunks.append(chunk)
        if time.monotonic() > deadline:
            raise FetchError(
                feed.url, f"took longer than the {limits.timeout:g}s deadline; cut off"
            )
    return b"".join(chunks)


class _Decoder:
    """``Content-Encoding`` decoding that never inflates more than ``DECODE_STEP`` per step."""

    def __init__(self, url: str, encoding: str) -> None:
        if encoding not in ("gzip", "x-gzip", "deflate"):
            raise FetchError(url, f"unsupported Content-Encoding {encoding!r}")
        self._encoding = encoding
        self._inflater: zlib._Decompress | None = None
        self._head = b""
        self._finished = False

    @staticmethod
    def chain(feed: FeedToPoll, header: str) -> _Chain:
        codings = [c.strip().lower() for c in header.split(",")]
        # Applied in order, so decoded in reverse; identity is no coding at all.
        return _Chain([_Decoder(feed.url, c) for c in reversed(codings) if c and c != "identity"])

    def _start(self, data: bytes) -> zlib._Decompress:
        if self._encoding == "deflate":
            # "deflate" should be zlib-wrapped, but many servers send a raw stream.
            wrapped = (data[0] & 0x0F) == 8 and ((data[0] << 8) | data[1]) % 31 == 0
            return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        return zlib.decompressobj(16 + zlib.MAX_WBITS)

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._finished:
            return  # bytes after the end of the stream are ignored, not buffered
        if self._inflater is None:
            self._head += data
            if len(self._head) < 2:
                return  # the zlib/raw sniff needs two bytes, whatever the network gave
            data, self._head = self._head, b""
            self._inflater = self._start(data)
        inflater = self._inflater
        while True:
            out = inflater.decompress(data, DECODE_STEP)
            data = inflater.unconsumed_tail
            if out:
                yield out
            if inflater.eof:
                self._finished = True
                return
            if not data and len(out) < DECODE_STEP:
                return


class _Chain:
    def __init__(self, decoders: list[_Decoder]) -> None:
        self._decoders = decoders

    def decode(self, data: bytes) -> Iterator[bytes]:
        pieces: Iterator[bytes] = iter((data,))
        for decoder in self._decoders:
            pieces = _through(decoder, pieces)
        yield from pieces


def _through(decoder: _Decoder, pieces: Iterator[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield from decoder.decode(piece)


def _result(
    feed: FeedToPoll, response: httpx.Response, body: bytes | None, history: list[int]
) -> FetchResult:
    permanent = bool(history) and all(status in (301, 308) for status in history)
    final_url = str(response.url) if permanent else feed.fetch_url
    etag = response.headers.get("ETag")
    last_modified = response.headers.get("Last-Modified")
    if body is None:
        # A 304 may omit validators; keep the ones we sent.
        etag, last_modified = etag or feed.etag, last_modified or feed.last_modified
    return FetchResult(
        url=feed.url,
        final_url=final_url,
        status=response.status_code,
        body=body,
        headers=_headers(response),
        etag=etag,
        last_modified=last_modified,
    )
