"""Poll 10,000 feeds served on loopback with the real Pipeline, and compare fetch strategies.

    .venv/bin/python bench/poll.py [--feeds 10000] [--hosts 50] [--items 3] [--changed 0.1]
                                   [--concurrency 8] [--compare 1000] [--latency 20]

A separate process serves the feeds (asyncio, HTTP/1.1 keep-alive) on ``--hosts`` loopback
addresses (127.0.0.1, 127.0.0.2, …: each its own "host" for the per-host limit), with an
ETag per feed version.  Then, in this process, into a fresh SQLite database:

1. cycle 1 (cold): every feed answers 200 with ``--items`` new items;
2. cycle 2 (steady, the target: ≤ 60 s): ``--changed`` of the feeds answer 200 with one
   new item, the others 304;
3. the fetch phase alone on ``--compare`` feeds (all 304): sequential vs threads
   (the daemon's runner) vs asyncio (httpx.AsyncClient), with the ratio to sequential;
4. a steady cycle of the full pipeline on the same subset, concurrency 1 vs ``--concurrency``;

3 and 4 twice: with the server answering at once (loopback), and with ``--latency`` ms
per request, which is what a real network adds and what concurrency is for.

Printed: wall time, outcomes, items, fetches per second, peak RSS of this process.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import resource
import socket
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aggregator.config import settings_from_mapping  # noqa: E402
from aggregator.fetch.http import FetchLimits, fetch, new_client  # noqa: E402
from aggregator.fetch.pool import fetch_concurrently  # noqa: E402
from aggregator.ingest.pipeline import Pipeline  # noqa: E402
from aggregator.storage import Storage  # noqa: E402
from aggregator.types import FeedToPoll, PollOutcome  # noqa: E402

VOCABULARY = ("harbour council ferry budget school river bridge storm museum farmer market "
              "vote hospital nurse train station library festival mayor police court judge "
              "teacher student factory worker union strike price bread coffee winter summer "
              "rain flood road highway tunnel airport pilot engine battery solar wind turbine "
              "grid power water pipe leak repair crew contract company shares profit loss bank "
              "loan interest rate housing rent tenant landlord park tree garden bird fox deer "
              "forest fire smoke alarm siren doctor vaccine clinic patient study research "
              "scientist planet moon rocket launch orbit signal phone app software update")
WORDS = VOCABULARY.split()


# -- the server (a child process) ---------------------------------------------------------

def changed(feed: int, cycle: int, fraction: float) -> bool:
    """Whether ``feed`` has a new item in ``cycle`` (deterministic, ~``fraction`` of feeds)."""
    return cycle >= 2 and (feed * 2654435761 + cycle * 40503) % 10_000 < fraction * 10_000


def version(feed: int, cycle: int, fraction: float) -> int:
    return sum(changed(feed, c, fraction) for c in range(2, cycle + 1))


def _text(seed: int) -> str:
    rng = random.Random(seed)
    return "".join("<p>" + " ".join(rng.choice(WORDS) for _ in range(40)) + ".</p>"
                   for _ in range(2))


def feed_body(feed: int, ver: int, items: int) -> bytes:
    entries = "".join(
        f"<item><title>Feed {feed} story {j}</title><link>https://f{feed}.example/{j}</link>"
        f"<guid isPermaLink=\"false\">f{feed}-{j}</guid>"
        f"<pubDate>Fri, 20 Nov 2026 10:{j % 60:02d}:00 +0000</pubDate>"
        f"<description><![CDATA[{_text(feed * 100_000 + j)}]]></description></item>"
        for j in range(ver, ver + items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {feed}</title><link>https://f{feed}.example/</link>"
            f"<description>bench</description>{entries}</channel></rss>").encode()


def serve(hosts: list[str], port: int, items: int, fraction: float, cycle: Any,
          latency_ms: Any, ready: Any) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                path = head[0].split(" ")[1]
                headers = {k.strip().lower(): v.strip()
                           for k, _, v in (line.partition(":") for line in head[1:] if line)}
                feed = int(path.rsplit("/", 1)[1])
                if latency_ms.value:
                    await asyncio.sleep(latency_ms.value / 1000)  # a network's round trip
                ver = version(feed, cycle.value, fraction)
                etag = f'"{feed}-{ver}"'
                if headers.get("if-none-match") == etag:
                    writer.write(f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\n\r\n".encode())
                else:
                    body = feed_body(feed, ver, items)
                    writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                                 f"ETag: {etag}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                                 + body)
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- measurements ------------------------------------------------------------------------------

def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cycle(pipeline: Pipeline, label: str, feeds: list[FeedToPoll] | None = None) -> float:
    started = time.monotonic()
    outcomes = pipeline.poll(feeds)
    seconds = time.monotonic() - started
    _report(label, outcomes, seconds)
    return seconds


def _report(label: str, outcomes: list[PollOutcome], seconds: float) -> None:
    statuses = Counter(o.status for o in outcomes)
    errors = Counter((o.error or "")[:60] for o in outcomes if o.status == "error")
    print(f"{label:<44} {seconds:7.1f} s  {len(outcomes) / seconds:7.0f} feeds/s  "
          f"ok={statuses['ok']} 304={statuses['not-modified']} errors={statuses['error']}  "
          f"new={sum(o.new for o in outcomes)}  peak RSS {peak_rss_mb():.0f} MB", flush=True)
    if errors:
        print(f"    errors: {errors.most_common(3)}")


def fetch_sequential(feeds: list[FeedToPoll], limits: FetchLimits) -> Counter[int]:
    with new_client(limits, 1) as client:
        return Counter(fetch(f, limits, client).status for f in feeds)


def fetch_threads(feeds: list[FeedToPoll], limits: FetchLimits, concurrency: int
                  ) -> Counter[int]:
    with new_client(limits, concurrency) as client:
        return Counter(status for status in fetch_concurrently(
            feeds, lambda f: fetch(f, limits, client).status, lambda f, r, s: -1,
            concurrency=concurrency, per_host=limits.per_host, deadline=limits.timeout + 2)
            if status is not None)


def fetch_asyncio(feeds: list[FeedToPoll], limits: FetchLimits, concurrency: int
                  ) -> Counter[int]:
    async def run() -> list[int]:
        overall = asyncio.Semaphore(concurrency)
        per_host: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(limits.per_host))
        async with httpx.AsyncClient(
                timeout=limits.timeout, headers={"User-Agent": limits.user_agent},
                limits=httpx.Limits(max_connections=concurrency)) as client:
            async def one(feed: FeedToPoll) -> int:
                async with per_host[httpx.URL(feed.fetch_url).host], overall:
                    headers = {"If-None-Match": feed.etag} if feed.etag else {}
                    return (await client.get(feed.fetch_url, headers=headers)).status_code
            return await asyncio.gather(*(one(f) for f in feeds))

    return Counter(asyncio.run(run()))


def compare_fetch(feeds: list[FeedToPoll], limits: FetchLimits, concurrency: int,
                  where: str) -> None:
    print(f"\nfetch phase alone, {len(feeds)} feeds (conditional GETs), {where}:")
    base = 0.0
    strategies: list[tuple[str, Callable[[], Counter[int]]]] = [
        ("sequential", lambda: fetch_sequential(feeds, limits)),
        (f"threads x{concurrency} (fetch_concurrently)",
         lambda: fetch_threads(feeds, limits, concurrency)),
        (f"asyncio x{concurrency} (httpx.AsyncClient)",
         lambda: fetch_asyncio(feeds, limits, concurrency)),
    ]
    for name, run in strategies:
        started = time.monotonic()
        statuses = run()
        seconds = time.monotonic() - started
        base = base or seconds
        print(f"  {name:<40} {seconds:6.2f} s  {len(feeds) / seconds:6.0f} fetches/s  "
              f"x{base / seconds:4.1f} vs sequential  {dict(statuses)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--items", type=int, default=3, help="items per feed")
    parser.add_argument("--changed", type=float, default=0.1,
                        help="share of feeds with a new item per later cycle")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--compare", type=int, default=1000,
                        help="feeds in the strategy comparisons (0: skip them)")
    parser.add_argument("--latency", type=int, default=20, metavar="MS",
                        help="server delay per request in the second comparison, standing "
                             "for a real network's round trip (default 20 ms)")
    args = parser.parse_args()

    hosts = [f"127.0.0.{1 + h}" for h in range(args.hosts)]
    port = _free_port()
    context = multiprocessing.get_context("spawn")
    server_cycle, latency, ready = context.Value("i", 1), context.Value("i", 0), context.Event()
    server = context.Process(target=serve, daemon=True, args=(
        hosts, port, args.items, args.changed, server_cycle, latency, ready))
    server.start()
    ready.wait(30)
    urls = [f"http://{hosts[i % len(hosts)]}:{port}/f/{i}" for i in range(args.feeds)]
    print(f"{args.feeds} feeds on {len(hosts)} loopback hosts, {args.items} items each, "
          f"{args.changed:.0%} changed per later cycle, polling.concurrency="
          f"{args.concurrency}, per-host limit {FetchLimits().per_host}")

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        settings = settings_from_mapping(
            {"database": url, "feeds": [{"url": u} for u in urls],
             "polling": {"concurrency": args.concurrency, "timeout": 30}}, None)
        pipeline = Pipeline(Storage(url), settings)
        started = time.monotonic()
        pipeline.start()
        print(f"{f'start (schema, {args.feeds} feeds registered)':<44} "
              f"{time.monotonic() - started:7.1f} s")
        started = time.monotonic()
        pipeline.poller.refresh_feed_settings()
        refresh = time.monotonic() - started
        print(f"{'  of which per poll: feed settings refresh':<44} {refresh:7.1f} s "
              "(Pipeline._refresh_feed_settings, run at every poll)")

        cycle(pipeline, "cycle 1: cold, every feed 200")
        server_cycle.value = 2
        cycle(pipeline, f"cycle 2: steady, {args.changed:.0%} changed, rest 304")
        server_cycle.value = 3
        cycle(pipeline, f"cycle 3: steady, {args.changed:.0%} changed, rest 304")
        print(f"peak RSS after the cycles: {peak_rss_mb():.0f} MB (this process; the server "
              "runs in another)")

        for ms in (0, args.latency) if args.compare else ():
            latency.value = ms
            where = "server answering at once" if not ms else f"{ms} ms latency per request"
            subset = pipeline.storage.feeds_to_poll()[:args.compare]
            compare_fetch(subset, pipeline.limits, args.concurrency, where)
            print(f"\nfull pipeline, steady cycle on {len(subset)} feeds, {where}:")
            for concurrency in (1, args.concurrency):
                server_cycle.value += 1
                pipeline.settings = replace(settings, polling=replace(
                    settings.polling, concurrency=concurrency))
                cycle(pipeline, f"  concurrency {concurrency}",
                      pipeline.storage.feeds_to_poll()[:args.compare])
    server.terminate()


if __name__ == "__main__":
    main()
