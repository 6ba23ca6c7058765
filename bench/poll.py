"""Poll 10,000 feeds served on loopback with the real Pipeline, and compare fetch strategies.

    .venv/bin/python bench/poll.py [--feeds 10000] [--hosts 50] [--items 3] [--changed 0.1]
                                   [--concurrency 8] [--compare 1000] [--latency 20]

A separate process serves the feeds (:func:`bench.loopback.serve_generated`: asyncio,
HTTP/1.1 keep-alive) on ``--hosts`` loopback addresses (127.0.0.1, 127.0.0.2, …: each its
own "host" for the per-host limit), with an ETag per feed version.  Then, in this
process, into a fresh SQLite database:

1. cycle 1 (cold): every feed answers 200 with ``--items`` new items;
2. cycle 2 (steady, the target: ≤ 60 s): ``--changed`` of the feeds answer 200 with one
   new item, the others 304;
3. the fetch phase alone on ``--compare`` feeds (all 304): sequential vs threads
   (the daemon's runner) vs asyncio (httpx.AsyncClient), with the ratio to sequential;
4. a steady cycle of the full pipeline on ``--compare`` feeds, concurrency 1 vs
   ``--concurrency``: each a pipeline of its own (``polling.concurrency`` set in its
   settings) over a database of its own, primed by a first poll of those feeds;

3 and 4 twice: with the server answering at once (loopback), and with ``--latency`` ms
per request, which is what a real network adds and what concurrency is for.

Printed: wall time, outcomes, items, fetches per second, peak RSS of this process.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/poll.py`: Python put bench/ first on sys.path;
    # the repository root instead makes `bench` importable as the package it is.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import resource
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable

import httpx

from aggregator.config import settings_from_mapping
from aggregator.fetch.http import FetchLimits, fetch, new_client
from aggregator.fetch.pool import fetch_concurrently
from aggregator.ingest.pipeline import Pipeline
from aggregator.storage import Storage
from aggregator.types import FeedToPoll, PollOutcome
from bench.loopback import GeneratedFeeds, serve_generated


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cycle(pipeline: Pipeline, label: str, feeds: list[FeedToPoll] | None = None) -> float:
    started = time.monotonic()
    outcomes = pipeline.poll(feeds)
    seconds = time.monotonic() - started
    report(label, outcomes, seconds)
    return seconds


def report(label: str, outcomes: list[PollOutcome], seconds: float) -> None:
    statuses = Counter(o.status for o in outcomes)
    errors = Counter((o.error or "")[:60] for o in outcomes if o.status == "error")
    print(
        f"{label:<44} {seconds:7.1f} s  {len(outcomes) / seconds:7.0f} feeds/s  "
        f"ok={statuses['ok']} 304={statuses['not-modified']} errors={statuses['error']}  "
        f"new={sum(o.new for o in outcomes)}  peak RSS {peak_rss_mb():.0f} MB",
        flush=True,
    )
    if errors:
        print(f"    errors: {errors.most_common(3)}")


# -- the fetch phase alone, three ways ------------------------------------------------------


def fetch_sequential(feeds: list[FeedToPoll], limits: FetchLimits) -> Counter[int]:
    with new_client(limits, 1) as client:
        return Counter(fetch(f, limits, client).status for f in feeds)


def fetch_threads(feeds: list[FeedToPoll], limits: FetchLimits, concurrency: int) -> Counter[int]:
    with new_client(limits, concurrency) as client:
        return Counter(
            status
            for status in fetch_concurrently(
                feeds,
                lambda f: fetch(f, limits, client).status,
                lambda f, r, s: -1,
                concurrency=concurrency,
                per_host=limits.per_host,
                deadline=limits.timeout + 2,
            )
            if status is not None
        )


def fetch_asyncio(feeds: list[FeedToPoll], limits: FetchLimits, concurrency: int) -> Counter[int]:
    async def run() -> list[int]:
        overall = asyncio.Semaphore(concurrency)
        per_host: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(limits.per_host)
        )
        async with httpx.AsyncClient(
            timeout=limits.timeout,
            headers={"User-Agent": limits.user_agent},
            limits=httpx.Limits(max_connections=concurrency),
        ) as client:

            async def one(feed: FeedToPoll) -> int:
                async with per_host[httpx.URL(feed.fetch_url).host], overall:
                    headers = {"If-None-Match": feed.etag} if feed.etag else {}
                    return (await client.get(feed.fetch_url, headers=headers)).status_code

            return await asyncio.gather(*(one(f) for f in feeds))

    return Counter(asyncio.run(run()))


def compare_fetch(
    feeds: list[FeedToPoll], limits: FetchLimits, concurrency: int, where: str
) -> None:
    print(f"\nfetch phase alone, {len(feeds)} feeds (conditional GETs), {where}:")
    base = 0.0
    strategies: list[tuple[str, Callable[[], Counter[int]]]] = [
        ("sequential", lambda: fetch_sequential(feeds, limits)),
        (
            f"threads x{concurrency} (fetch_concurrently)",
            lambda: fetch_threads(feeds, limits, concurrency),
        ),
        (
            f"asyncio x{concurrency} (httpx.AsyncClient)",
            lambda: fetch_asyncio(feeds, limits, concurrency),
        ),
    ]
    for name, run in strategies:
        started = time.monotonic()
        statuses = run()
        seconds = time.monotonic() - started
        base = base or seconds
        print(
            f"  {name:<40} {seconds:6.2f} s  {len(feeds) / seconds:6.0f} fetches/s  "
            f"x{base / seconds:4.1f} vs sequential  {dict(statuses)}",
            flush=True,
        )


# -- the full pipeline -----------------------------------------------------------------------


def new_pipeline(folder: str, name: str, urls: list[str], concurrency: int) -> Pipeline:
    """A started pipeline over a fresh database of its own, polling with ``concurrency``."""
    url = f"sqlite:///{folder}/{name}.db"
    settings = settings_from_mapping(
        {
            "database": url,
            "feeds": [{"url": u} for u in urls],
            "polling": {"concurrency": concurrency, "timeout": 30},
        },
        None,
    )
    pipeline = Pipeline(Storage(url), settings)
    pipeline.start()
    return pipeline


def compare_pipeline(
    served: GeneratedFeeds, urls: list[str], concurrencies: tuple[int, ...], where: str, folder: str
) -> None:
    """A steady cycle of ``urls`` by a pipeline of each concurrency (each primed first)."""
    print(f"\nfull pipeline, steady cycle on {len(urls)} feeds, {where}:")
    for concurrency in concurrencies:
        name = f"c{concurrency}-{served.latency_ms}ms"
        pipeline = new_pipeline(folder, name, urls, concurrency)
        latency, served.latency_ms = served.latency_ms, 0
        pipeline.poll()  # priming: every feed's ETag known
        served.latency_ms = latency
        served.cycle += 1
        cycle(pipeline, f"  concurrency {concurrency}")
        pipeline.storage.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--items", type=int, default=3, help="items per feed")
    parser.add_argument(
        "--changed", type=float, default=0.1, help="share of feeds with a new item per later cycle"
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--compare", type=int, default=1000, help="feeds in the strategy comparisons (0: skip them)"
    )
    parser.add_argument(
        "--latency",
        type=int,
        default=20,
        metavar="MS",
        help="server delay per request in the second comparison, standing "
        "for a real network's round trip (default 20 ms)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with (
        serve_generated(args.feeds, args.hosts, args.items, args.changed) as served,
        tempfile.TemporaryDirectory() as folder,
    ):
        print(
            f"{args.feeds} feeds on {args.hosts} loopback hosts, {args.items} items each, "
            f"{args.changed:.0%} changed per later cycle, polling.concurrency="
            f"{args.concurrency}, per-host limit {FetchLimits().per_host}"
        )
        started = time.monotonic()
        pipeline = new_pipeline(folder, "bench", served.urls, args.concurrency)
        print(
            f"{f'start (schema, {args.feeds} feeds registered)':<44} "
            f"{time.monotonic() - started:7.1f} s"
        )
        cycle(pipeline, "cycle 1: cold, every feed 200")
        for number in (2, 3):
            served.cycle = number
            cycle(pipeline, f"cycle {number}: steady, {args.changed:.0%} changed, rest 304")
        print(
            f"peak RSS after the cycles: {peak_rss_mb():.0f} MB (this process; the server "
            "runs in another)"
        )
        for ms in (0, args.latency) if args.compare else ():
            served.latency_ms = ms
            where = "server answering at once" if not ms else f"{ms} ms latency per request"
            subset = pipeline.storage.feeds_to_poll()[: args.compare]
            compare_fetch(subset, pipeline.limits, args.concurrency, where)
            compare_pipeline(served, [f.url for f in subset], (1, args.concurrency), where, folder)
        pipeline.storage.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
