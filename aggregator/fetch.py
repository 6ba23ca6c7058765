"""The only network code: one conditional GET of one feed, within limits.

Limits that hold against hostile servers: a socket timeout *and* a total deadline
(a server dripping one byte a second cannot hold a worker), a cap on the decoded
body size (so a gzip bomb stops at ``max_bytes`` of output), a redirect cap.
Local paths and ``file://`` URLs are read from disk with the same size cap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from aggregator import __version__
from aggregator.errors import FetchError
from aggregator.types import FeedToPoll, FetchResult

USER_AGENT = f"aggregator/{__version__} (feed aggregator that merges syndicated copies)"
ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
          "application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")


@dataclass(frozen=True)
class FetchLimits:
    timeout: float = 30.0
    """Seconds for connect and for each read, and the total deadline of one fetch."""
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = USER_AGENT


def new_client(limits: FetchLimits) -> httpx.Client:
    """One client per worker pool: connection reuse across feeds of a host."""
    return httpx.Client(
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        timeout=httpx.Timeout(limits.timeout),
        headers={"User-Agent": limits.user_agent, "Accept": ACCEPT},
        trust_env=False,
    )


def fetch(feed: FeedToPoll, limits: FetchLimits, client: httpx.Client | None = None) -> FetchResult:
    """Fetch ``feed.fetch_url``; raise ``FetchError`` (naming the feed) on any failure."""
    url = feed.fetch_url
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        if client is None:
            with new_client(limits) as own:
                return _fetch_http(feed, limits, own)
        return _fetch_http(feed, limits, client)
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
    return FetchResult(url=feed.url, final_url=feed.fetch_url, status=200, body=body,
                       headers={"content-type": content_type})


def _fetch_http(feed: FeedToPoll, limits: FetchLimits, client: httpx.Client) -> FetchResult:
    headers: dict[str, str] = {}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    deadline = time.monotonic() + limits.timeout
    try:
        with client.stream("GET", feed.fetch_url, headers=headers) as response:
            if response.status_code == 304:
                return _result(feed, response, None)
            if response.status_code >= 400:
                raise FetchError(feed.url, f"HTTP {response.status_code} "
                                           f"{response.reason_phrase}".rstrip(),
                                 status=response.status_code,
                                 headers={k.lower(): v for k, v in response.headers.items()})
            body = _read_capped(feed, response, limits, deadline)
            return _result(feed, response, body)
    except FetchError:
        raise
    except httpx.TooManyRedirects as exc:
        raise FetchError(feed.url, f"too many redirects (more than {limits.max_redirects})") \
            from exc
    except httpx.TimeoutException as exc:
        raise FetchError(feed.url, f"timed out ({exc.__class__.__name__})") from exc
    except httpx.DecodingError as exc:
        raise FetchError(feed.url, f"cannot decode the response body: {exc}") from exc
    except httpx.HTTPError as exc:
        raise FetchError(feed.url, f"{exc.__class__.__name__}: {exc}") from exc


def _read_capped(feed: FeedToPoll, response: httpx.Response, limits: FetchLimits,
                 deadline: float) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes \
            and "content-encoding" not in response.headers:
        raise FetchError(feed.url, f"body of {declared} bytes exceeds max_bytes "
                                   f"({limits.max_bytes})")
    chunks: list[bytes] = []
    size = 0
    # iter_bytes yields *decoded* bytes, so the cap also bounds a decompression bomb.
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limits.max_bytes:
            raise FetchError(feed.url, f"body exceeds max_bytes ({limits.max_bytes}); cut off")
        if time.monotonic() > deadline:
            raise FetchError(feed.url, f"took longer than the {limits.timeout:g}s deadline; "
                                       "cut off")
        chunks.append(chunk)
    return b"".join(chunks)


def _result(feed: FeedToPoll, response: httpx.Response, body: bytes | None) -> FetchResult:
    permanent = bool(response.history) and all(
        r.status_code in (301, 308) for r in response.history)
    final_url = str(response.url) if permanent else feed.fetch_url
    etag = response.headers.get("ETag")
    last_modified = response.headers.get("Last-Modified")
    if body is None:
        # A 304 may omit validators; keep the ones we sent.
        etag, last_modified = etag or feed.etag, last_modified or feed.last_modified
    return FetchResult(url=feed.url, final_url=final_url, status=response.status_code,
                       body=body, headers={k.lower(): v for k, v in response.headers.items()},
                       etag=etag, last_modified=last_modified)
