"""The only network code: one conditional GET of one feed, within limits, and many at once.

Limits that hold against hostile servers: a socket timeout *and* a total deadline
(a server dripping one byte a second cannot hold a worker), a cap on the body size
counted after decompression and enforced while decompressing (so a gzip bomb never
inflates more than one small step past ``max_bytes``), a redirect cap.  Local paths and
``file://`` URLs are read from disk with the same size cap.

:func:`fetch_concurrently` runs many fetches on worker threads: at most ``concurrency``
at once and ``per_host`` per host (politeness), results handed back as they complete so
the single writer parses and stores while the network keeps working.  Threads, not
asyncio: ``bench/poll.py`` measures both, and the writer, not the network, is the limit.
"""

from __future__ import annotations

import itertools
import queue
import ssl
import threading
import time
import zlib
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import unquote, urlsplit

import httpx

from aggregator import __version__
from aggregator.errors import FetchError
from aggregator.types import FeedToPoll, FetchResult

USER_AGENT = f"aggregator/{__version__} (feed aggregator that merges syndicated copies)"
ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
          "application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
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


def new_client(limits: FetchLimits, connections: int = 8) -> httpx.Client:
    """One client per worker pool: connection reuse across feeds of a host."""
    return httpx.Client(
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        timeout=httpx.Timeout(limits.timeout),
        headers={"User-Agent": limits.user_agent, "Accept": ACCEPT,
                 "Accept-Encoding": ACCEPT_ENCODING},
        limits=httpx.Limits(max_connections=max(connections, 1),
                            max_keepalive_connections=max(connections, 1)),
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
            if not 200 <= response.status_code < 300:
                # 4xx/5xx, and a 3xx without a Location httpx could follow.
                raise FetchError(feed.url, f"HTTP {response.status_code} "
                                           f"{response.reason_phrase}".rstrip(),
                                 status=response.status_code, headers=_headers(response))
            body = _read_capped(feed, response, limits, deadline)
            return _result(feed, response, body)
    except FetchError:
        raise
    except httpx.TooManyRedirects as exc:
        raise FetchError(feed.url, f"too many redirects (more than {limits.max_redirects})") \
            from exc
    except httpx.TimeoutException as exc:
        raise FetchError(feed.url, f"timed out ({exc.__class__.__name__})") from exc
    except httpx.ConnectError as exc:
        tls = isinstance(_innermost(exc), ssl.SSLError)
        raise FetchError(feed.url, f"{'TLS error' if tls else 'cannot connect'}: "
                                   f"{_reason(exc)}") from exc
    except httpx.HTTPError as exc:
        raise FetchError(feed.url, f"{exc.__class__.__name__}: {_reason(exc)}") from exc
    except zlib.error as exc:
        raise FetchError(feed.url, f"cannot decompress the body: {exc}") from exc
    except (ValueError, OSError) as exc:  # a reset socket, a malformed response
        raise FetchError(feed.url, f"{exc.__class__.__name__}: {exc}") from exc


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


def _read_capped(feed: FeedToPoll, response: httpx.Response, limits: FetchLimits,
                 deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isascii() and declared.isdigit() and int(declared) > limits.max_bytes:
        # Compressed or not, the raw body alone is already over the cap.
        raise FetchError(feed.url, f"body of {declared} bytes exceeds max_bytes "
                                   f"({limits.max_bytes}); not read")
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
                raise FetchError(feed.url, f"body exceeds max_bytes ({limits.max_bytes}) "
                                           "after decompression; cut off")
            chunks.append(chunk)
        if time.monotonic() > deadline:
            raise FetchError(feed.url, f"took longer than the {limits.timeout:g}s deadline; "
                                       "cut off")
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
        return _Chain([_Decoder(feed.url, c) for c in reversed(codings)
                       if c and c != "identity"])

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
                       body=body, headers=_headers(response),
                       etag=etag, last_modified=last_modified)


# -- many at once -----------------------------------------------------------------------

T = TypeVar("T")


def host_key(feed: FeedToPoll) -> str:
    """What the per-host limit counts: the host name (a machine, whatever the port)."""
    parts = urlsplit(feed.fetch_url)
    if parts.scheme.lower() in ("http", "https") and parts.hostname:
        return parts.hostname.lower()
    return f"local:{feed.id}"  # files need no politeness


class _Dispatcher:
    """Hands feeds to workers round-robin over hosts, at most ``per_host`` in flight each,
    so one site with a thousand feeds neither starves the others nor gets hammered."""

    def __init__(self, feeds: Sequence[FeedToPoll], per_host: int) -> None:
        self._per_host = max(per_host, 1)
        self._waiting: dict[str, deque[FeedToPoll]] = {}
        for feed in feeds:
            self._waiting.setdefault(host_key(feed), deque()).append(feed)
        self._ring = deque(self._waiting)
        self._active: dict[str, int] = defaultdict(int)
        self._cond = threading.Condition()
        self._closed = False

    def take(self) -> tuple[FeedToPoll, str] | None:
        """The next feed whose host has a free slot; None when nothing is left to take."""
        with self._cond:
            while not self._closed and self._ring:
                for _ in range(len(self._ring)):
                    host = self._ring[0]
                    self._ring.rotate(-1)
                    if self._active[host] < self._per_host:
                        waiting = self._waiting[host]
                        feed = waiting.popleft()
                        if not waiting:
                            self._ring.pop()  # rotate(-1) moved this host to the right end
                            del self._waiting[host]
                        self._active[host] += 1
                        return feed, host
                self._cond.wait()
            return None

    def release(self, host: str) -> None:
        with self._cond:
            self._active[host] -= 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class _Run(Generic[T]):
    """One :func:`fetch_concurrently` call: its workers, their results and the deadline watch."""

    def __init__(self, feeds: Sequence[FeedToPoll], work: Callable[[FeedToPoll], T],
                 failed: Callable[[FeedToPoll, str, float], T], per_host: int,
                 deadline: float, slots: int) -> None:
        self._work, self._failed, self.deadline = work, failed, deadline
        self._dispatch = _Dispatcher(feeds, per_host)
        self.results: queue.Queue[T] = queue.Queue()
        # A fetch starts only with a slot, given back when the writer takes its result:
        # fetches running plus results waiting never exceed ``slots``, so when the writer
        # falls behind, workers wait instead of piling up bodies.
        self._slots = threading.Semaphore(max(slots, 1))
        self._inflight: dict[int, tuple[FeedToPoll, float]] = {}
        self._lock = threading.Lock()
        self._tokens = itertools.count()
        self._stopped = threading.Event()
        self._threads = itertools.count(1)

    def spawn(self) -> None:
        # Daemon threads: a fetch stuck in a system call (a slow DNS lookup) must not keep
        # the process alive after a stop; its result is simply never read.
        thread = threading.Thread(target=self._worker, name=f"fetch-{next(self._threads)}",
                                  daemon=True)
        thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._dispatch.close()

    def _worker(self) -> None:
        while not self._stopped.is_set():
            if not self._slots.acquire(timeout=0.2):
                continue
            task = self._dispatch.take()
            if task is None:
                self._slots.release()
                return
            feed, host = task
            token = next(self._tokens)
            started = time.monotonic()
            with self._lock:
                self._inflight[token] = (feed, started)
            try:
                value = self._work(feed)
            except Exception as exc:  # work() reports its own failures; this is the backstop
                value = self._failed(feed, f"unexpected {exc.__class__.__name__}: {exc}",
                                     time.monotonic() - started)
            finally:
                self._dispatch.release(host)
            with self._lock:
                mine = self._inflight.pop(token, None) is not None
            if not mine:
                return  # reported as overdue (its slot given back) and replaced meanwhile
            self.results.put(value)

    def taken(self) -> None:
        """The writer took a result: its slot is free for the next fetch."""
        self._slots.release()

    def wait_time(self) -> float:
        """How long the collector may block before the next deadline needs checking."""
        with self._lock:
            starts = [started for _, started in self._inflight.values()]
        if not starts:
            return 0.2
        return min(0.2, max(0.01, min(starts) + self.deadline - time.monotonic()))

    def expire(self) -> list[T]:
        """Report fetches past the deadline as failed and replace their workers."""
        now = time.monotonic()
        with self._lock:
            late = [(token, feed, started) for token, (feed, started) in self._inflight.items()
                    if now - started > self.deadline]
            for token, _, _ in late:
                del self._inflight[token]
        for _ in late:
            self._slots.release()  # the stuck call may never return to give it back
            self.spawn()
        return [self._failed(feed, f"no answer within the {self.deadline:g}s deadline; "
                                   "abandoned", now - started) for _, feed, started in late]


def fetch_concurrently(feeds: Sequence[FeedToPoll], work: Callable[[FeedToPoll], T],
                       failed: Callable[[FeedToPoll, str, float], T], *, concurrency: int,
                       per_host: int, deadline: float,
                       cancel: threading.Event | None = None) -> Iterator[T | None]:
    """Run ``work(feed)`` for every feed on worker threads; yield each result as it completes.

    At most ``concurrency`` run at once and ``per_host`` per host.  A call still running
    ``deadline`` seconds after it started (stuck in DNS, or a read that outlives the
    fetch's own deadline) is reported as ``failed(feed, reason, seconds)`` and its
    worker replaced, so one feed can never hold the batch.  When ``cancel`` is set, no
    further feed starts and the iteration ends; results still in flight are dropped.
    ``None`` is yielded whenever no result came for a moment (≤ 0.2 s): the consumer's
    chance to finish work it holds rather than wait for the slowest fetch.
    """
    if not feeds:
        return
    # Each running fetch and each result waiting for the writer holds a whole body (up to
    # max_bytes): ``concurrency`` of them at most, whether the network or the writer is
    # the slower side.
    run: _Run[T] = _Run(feeds, work, failed, per_host, deadline, slots=concurrency)
    for _ in range(max(1, min(concurrency, len(feeds)))):
        run.spawn()
    remaining = len(feeds)
    try:
        while remaining:
            if cancel is not None and cancel.is_set():
                return
            try:
                value = run.results.get(timeout=run.wait_time())
            except queue.Empty:
                for overdue in run.expire():
                    remaining -= 1
                    yield overdue
                yield None
                continue
            run.taken()
            remaining -= 1
            yield value
    finally:
        run.stop()
