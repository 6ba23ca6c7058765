"""Feeds served on 127.0.0.1, for the benchmarks and the tests.

- :func:`serve_folder`: the files of a folder (a corpus) over HTTP/1.1 with keep-alive
  (stdlib ``ThreadingHTTPServer``), from a separate process, so that the server's work is
  not in the measured process, or from a thread of this one (tests).
  ``python -m bench.loopback DIR`` serves DIR and prints the port.
- :func:`serve_generated`: generated feeds that change from one cycle to the next (an
  ETag per version of each feed, 304 when it did not change), spread over many loopback
  addresses (127.0.0.1, 127.0.0.2, …: each a "host" for the per-host limit), from an
  asyncio server in a separate process; the caller moves it to the next cycle and sets a
  delay per request standing for a network's round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import random
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import ROOT

# -- a folder of feed files -----------------------------------------------------------------


def folder_server(folder: Path, port: int = 0) -> ThreadingHTTPServer:
    """An HTTP/1.1 server of ``folder`` on 127.0.0.1 (``port`` 0: any free one)."""
    directory = str(folder)

    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real feed servers do
        extensions_map = {
            **SimpleHTTPRequestHandler.extensions_map,
            ".xml": "application/rss+xml",
            ".atom": "application/atom+xml",
            ".json": "application/feed+json",
        }

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=directory, **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


@contextlib.contextmanager
def serve_folder(folder: Path, *, thread: bool = False) -> Iterator[str]:
    """Serve ``folder`` while the block runs; yields the base URL (``http://127.0.0.1:PORT``).

    By default from a child process (``python -m bench.loopback``); ``thread=True`` serves
    it from a thread of this process instead (quicker to start: tests)."""
    if thread:
        server = folder_server(folder)
        runner = threading.Thread(target=server.serve_forever, daemon=True)
        runner.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            runner.join(10)
        return
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.loopback", str(folder)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


# -- generated feeds that change from cycle to cycle ----------------------------------------

VOCABULARY = (
    "harbour council ferry budget school river bridge storm museum farmer market "
    "vote hospital nurse train station library festival mayor police court judge "
    "teacher student factory worker union strike price bread coffee winter summer "
    "rain flood road highway tunnel airport pilot engine battery solar wind turbine "
    "grid power water pipe leak repair crew contract company shares profit loss bank "
    "loan interest rate housing rent tenant landlord park tree garden bird fox deer "
    "forest fire smoke alarm siren doctor vaccine clinic patient study research "
    "scientist planet moon rocket launch orbit signal phone app software update"
)
WORDS = VOCABULARY.split()


def changed(feed: int, cycle: int, fraction: float) -> bool:
    """Whether ``feed`` has a new item in ``cycle`` (deterministic, ~``fraction`` of feeds)."""
    return cycle >= 2 and (feed * 2654435761 + cycle * 40503) % 10_000 < fraction * 10_000


def version(feed: int, cycle: int, fraction: float) -> int:
    return sum(changed(feed, c, fraction) for c in range(2, cycle + 1))


def _text(seed: int) -> str:
    rng = random.Random(seed)
    return "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(40)) + ".</p>" for _ in range(2)
    )


def feed_body(feed: int, ver: int, items: int) -> bytes:
    """Version ``ver`` of feed ``feed``: its ``items`` newest items (one more each version)."""
    entries = "".join(
        f"<item><title>Feed {feed} story {j}</title><link>https://f{feed}.example/{j}</link>"
        f'<guid isPermaLink="false">f{feed}-{j}</guid>'
        f"<pubDate>Fri, 20 Nov 2026 10:{j % 60:02d}:00 +0000</pubDate>"
        f"<description><![CDATA[{_text(feed * 100_000 + j)}]]></description></item>"
        for j in range(ver, ver + items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {feed}</title><link>https://f{feed}.example/</link>"
        f"<description>bench</description>{entries}</channel></rss>"
    ).encode()


def serve_generated_forever(
    hosts: list[str],
    port: int,
    items: int,
    fraction: float,
    cycle: Any,
    latency_ms: Any,
    ready: Any,
    slow_seconds: float = 0.0,
) -> None:
    """The server process of :func:`serve_generated` (``cycle``, ``latency_ms``: shared
    values; ``ready``: an event set once it listens).  ``/slow/N`` answers as ``/f/N``
    after ``slow_seconds``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                path = head[0].split(" ")[1]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in head[1:] if line)
                }
                feed = int(path.rsplit("/", 1)[1])
                if latency_ms.value:
                    await asyncio.sleep(latency_ms.value / 1000)  # a network's round trip
                if path.startswith("/slow/"):
                    await asyncio.sleep(slow_seconds)  # a server that keeps the fetch
                ver = version(feed, cycle.value, fraction)
                etag = f'"{feed}-{ver}"'
                if headers.get("if-none-match") == etag:
                    writer.write(f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\n\r\n".encode())
                else:
                    body = feed_body(feed, ver, items)
                    writer.write(
                        f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                        f"ETag: {etag}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError, ValueError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, host=hosts, port=port, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class GeneratedFeeds:
    """What :func:`serve_generated` serves: the feed URLs, and the server's cycle and
    delay per request, which the caller sets."""

    def __init__(
        self, feeds: int, hosts: list[str], port: int, cycle: Any, latency_ms: Any
    ) -> None:
        self.hosts = hosts
        self.port = port
        self.urls = [f"http://{hosts[i % len(hosts)]}:{port}/f/{i}" for i in range(feeds)]
        self._cycle = cycle
        self._latency_ms = latency_ms

    @property
    def cycle(self) -> int:
        """The cycle feeds answer for: 1, every feed new; later, some changed."""
        return int(self._cycle.value)

    @cycle.setter
    def cycle(self, value: int) -> None:
        self._cycle.value = value

    @property
    def latency_ms(self) -> int:
        return int(self._latency_ms.value)

    @latency_ms.setter
    def latency_ms(self, value: int) -> None:
        self._latency_ms.value = value


@contextlib.contextmanager
def serve_generated(
    feeds: int,
    hosts: int = 50,
    items: int = 3,
    changed_share: float = 0.1,
    slow_seconds: float = 0.0,
) -> Iterator[GeneratedFeeds]:
    """Serve ``feeds`` generated feeds of ``items`` items on ``hosts`` loopback addresses
    while the block runs; from cycle 2 on, ``changed_share`` of them gain an item a cycle.
    ``/slow/N`` is feed N answered after ``slow_seconds``."""
    addresses = [f"127.0.0.{1 + h}" for h in range(hosts)]
    port = free_port()
    context = multiprocessing.get_context("spawn")
    cycle, latency, ready = context.Value("i", 1), context.Value("i", 0), context.Event()
    server = context.Process(
        target=serve_generated_forever,
        daemon=True,
        args=(addresses, port, items, changed_share, cycle, latency, ready, slow_seconds),
    )
    server.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the feed server did not start within 30 s")
        yield GeneratedFeeds(feeds, addresses, port, cycle, latency)
    finally:
        server.terminate()
        server.join(10)


def main() -> None:
    """``python -m bench.loopback DIR``: serve DIR, print the port, run until killed."""
    server = folder_server(Path(sys.argv[1]))
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
