"""What each verb of the command line does."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aggregator.config import Settings, resolve_feed_url
from aggregator.errors import FeedError
from aggregator.publish.views import cluster_dict, feed_dict, item_dict, table
from aggregator.types import FeedSpec

Handler = Callable[[argparse.Namespace, Settings], int]
HAND_OVER_WAIT = 60.0
"""Seconds ``poll --once`` waits for the running daemon to place the items it stored."""


def _emit(args: argparse.Namespace, rows: list[dict[str, Any]], render: Callable[[], str]) -> int:
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(render())
    return 0


def _storage(settings: Settings) -> Any:
    from aggregator.storage import Storage

    storage = Storage(settings.database)
    storage.upgrade()
    return storage


def _pipeline(settings: Settings) -> Any:
    from aggregator.ingest.pipeline import Pipeline
    from aggregator.storage import Storage

    # The CLI decides only while no daemon does, and gives the lease back when done.
    return Pipeline(Storage(settings.database), settings, keep_lease=False)


# -- verbs ------------------------------------------------------------------------------


def poll(args: argparse.Namespace, settings: Settings) -> int:
    import time

    started = time.monotonic()
    pipeline = _pipeline(settings)
    pipeline.start()
    outcomes = pipeline.poll()
    for o in outcomes:
        if o.status == "error":
            print(f"error         {o.feed_url}: {o.error}")
        else:
            print(f"{o.status:<13} {o.feed_url}: {o.new} new, {o.updated} updated")
    if pipeline.handed_over:
        left = pipeline.wait_until_decided(pipeline.handed_over, HAND_OVER_WAIT)
        print(
            f"another process (the daemon) decides on this database: handed it "
            f"{len(pipeline.handed_over)} items"
            + (f"; {len(left)} still wait for it" if left else ", all placed")
        )
    counts = pipeline.storage.counts()
    failed = sum(1 for o in outcomes if o.status == "error")
    print(
        f"polled {len(outcomes)} feeds ({failed} failed): "
        f"{sum(o.new for o in outcomes)} new, {sum(o.updated for o in outcomes)} updated; "
        f"{counts['items']} items in {counts['clusters']} clusters "
        f"({counts['multi_item_clusters']} with copies) in {time.monotonic() - started:.2f}s"
    )
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    from aggregator.daemon.scheduler import run_daemon

    warn_if_exposed(settings.server.host)
    return run_daemon(settings)


def warn_if_exposed(host: str) -> None:
    """Say so when the web face will be reachable from other machines: its pages, feeds,
    /api/feeds, /opml and /metrics need no login (``run`` and ``serve`` alike)."""
    import ipaddress

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        print(
            f"aggregator: warning: serving on {host}, reachable from other machines; "
            "the pages and feeds need no login",
            file=sys.stderr,
        )


def worker(args: argparse.Namespace, settings: Settings) -> int:
    from aggregator.daemon.roles import run_worker

    return run_worker(settings, args.threads or settings.polling.concurrency, args.metrics_port)


def decider(args: argparse.Namespace, settings: Settings) -> int:
    from aggregator.daemon.roles import run_decider

    return run_decider(settings, args.metrics_port)


def serve(args: argparse.Namespace, settings: Settings) -> int:
    from aggregator.publish.app import create_app
    from aggregator.publish.server import serve_forever

    host, port = settings.server.host, args.port or settings.server.port
    warn_if_exposed(host)
    storage = _storage(settings)
    writes = (
        "corrections need the server token"
        if settings.server.token
        else "read-only: set server.token to allow corrections"
    )
    print(f"aggregator: serving http://{host}:{port}/ ({writes}); stop with Ctrl-C", flush=True)
    # No pipeline yet: the first correction makes one (this process then writes).
    serve_forever(create_app(storage, settings), host, port)
    return 0


def db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    revision = _storage(settings).schema_revision()
    print(f"database at revision {revision}")
    return 0


def items_list(args: argparse.Namespace, settings: Settings) -> int:
    feed = resolve_feed_url(args.feed, Path.cwd()) if args.feed else None
    items = _storage(settings).list_items(feed_url=feed, limit=args.limit)
    return _emit(
        args,
        [item_dict(i) for i in items],
        lambda: table(
            [
                (
                    i.id,
                    (i.published.strftime("%Y-%m-%d %H:%M") if i.published else ""),
                    i.cluster_id,
                    "*" if i.canonical else "",
                    i.title,
                    i.feed_url,
                )
                for i in items
            ],
            ["id", "published", "cluster", "canon", "title", "feed"],
            {4: 60, 5: 50},
        ),
    )


def clusters_list(args: argparse.Namespace, settings: Settings) -> int:
    clusters = _storage(settings).list_clusters(min_size=1 if args.all else 2, limit=args.limit)
    rows = [cluster_dict(c) for c in clusters]

    def render() -> str:
        return table(
            [
                (
                    c["id"],
                    c["size"],
                    c["feed_count"],
                    (c["canonical_item"] or {}).get("title"),
                    ", ".join(sorted({m["method"] for m in c["members"]} - {"single"})),
                )
                for c in rows
            ],
            ["id", "size", "feeds", "canonical title", "methods"],
            {3: 70},
        )

    return _emit(args, rows, render)


def clusters_show(args: argparse.Namespace, settings: Settings) -> int:
    cluster = _storage(settings).get_cluster(args.cluster_id)
    if cluster is None:
        print(f"aggregator: no cluster {args.cluster_id}", file=sys.stderr)
        return 1
    data = cluster_dict(cluster)
    if args.format == "json":
        return _emit(args, [data], str)
    print(f"cluster {cluster.id}: {cluster.size} items from {cluster.feed_count} feeds")
    if cluster.note:
        print(f"note: {cluster.note}")
    print(
        table(
            [
                (
                    m["id"],
                    "*" if m["canonical"] else "",
                    m["method"],
                    m["score"],
                    m["published"],
                    m["title"],
                    m["feed_url"],
                )
                for m in data["members"]
            ],
            ["item", "canon", "method", "score", "published", "title", "feed"],
            {5: 50, 6: 45},
        )
    )
    return 0


def clusters_explain(args: argparse.Namespace, settings: Settings) -> int:
    from aggregator.ingest.explain import explain
    from aggregator.ingest.state import dedup_params, load_boilerplate
    from aggregator.publish.views import explanation_dict

    if len(args.item_ids) > 2:
        print("aggregator: explain takes one or two item ids", file=sys.stderr)
        return 2
    storage = _storage(settings)
    report = explanation_dict(
        explain(
            storage, load_boilerplate(storage), dedup_params(settings.dedup), list(args.item_ids)
        )
    )
    if args.format == "json":
        return _emit(args, [report], str)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def feeds_list(args: argparse.Namespace, settings: Settings) -> int:
    feeds = _storage(settings).list_feeds()
    return _emit(
        args,
        [feed_dict(f) for f in feeds],
        lambda: table(
            [
                (
                    f.id,
                    f.name or f.title,
                    f.item_count,
                    f.error_count,
                    (f.last_success.strftime("%Y-%m-%d %H:%M") if f.last_success else "never"),
                    f.last_error or "",
                    f.url,
                )
                for f in feeds
            ],
            ["id", "name", "items", "errors", "last success", "last error", "url"],
            {1: 30, 5: 40, 6: 60},
        ),
    )


def feeds_add(args: argparse.Namespace, settings: Settings) -> int:
    url = resolve_feed_url(args.url, Path.cwd())
    feed, created = _storage(settings).add_feed(
        FeedSpec(url=url, name=args.name, group=args.group, priority=args.priority)
    )
    print(f"{'added' if created else 'already subscribed'}: {feed.url} (id {feed.id})")
    return 0


def feeds_remove(args: argparse.Namespace, settings: Settings) -> int:
    url = resolve_feed_url(args.url, Path.cwd())
    removed = _storage(settings).remove_feed(url)
    if removed is None:
        print(f"aggregator: no feed {url}", file=sys.stderr)
        return 1
    print(f"removed {url} and its {removed} items")
    if any(spec.url == url for spec in settings.feeds):
        print(
            "note: the feed is still listed in the config file and will come back at the next "
            "poll; delete it there too",
            file=sys.stderr,
        )
    return 0


def feeds_import_opml(args: argparse.Namespace, settings: Settings) -> int:
    from aggregator.fetch.policy import FetchPolicy, check_outside_url
    from aggregator.publish.opml import parse_opml

    path = Path(args.file)
    try:
        listed = parse_opml(path.read_bytes())
    except OSError as exc:
        print(f"aggregator: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    storage = _storage(settings)
    policy = FetchPolicy.from_config(settings.fetch)
    added = skipped = 0
    for entry in listed:
        # OPML files come from the web: only http(s) URLs to public addresses, never a
        # path or file:// (nothing is looked up on disk, so no answer tells which exist).
        try:
            url = check_outside_url(entry.url, policy)
        except FeedError as exc:
            print(f"skipped       {exc}")
            skipped += 1
            continue
        feed, created = storage.add_feed(
            FeedSpec(url=url, name=entry.name, group=entry.group), origin="opml"
        )
        added += created
        print(
            f"{'added' if created else 'already':<13} {feed.url}"
            + (f" ({entry.group})" if entry.group else "")
        )
    print(
        f"imported {len(listed)} feeds from {path}: {added} added, "
        f"{len(listed) - added - skipped} already subscribed, {skipped} skipped"
    )
    return 0


def feeds_export_opml(args: argparse.Namespace, settings: Settings) -> int:
    from aggregator.publish.opml import render_opml

    data = render_opml(_storage(settings).list_feeds())
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


STORED_NOT_APPLIED = (
    "the correction is stored; the running daemon applies it at its next look at the database"
)


def clusters_split(args: argparse.Namespace, settings: Settings) -> int:
    pipeline = _pipeline(settings)
    if pipeline.split_item(args.item_id) is None:
        print(STORED_NOT_APPLIED)
        return 0
    item = pipeline.storage.list_items(item_ids=[args.item_id])[0]
    print(
        f"item {args.item_id} is now alone in cluster {item.cluster_id} (method manual); "
        "the correction is kept for later decisions"
    )
    return 0


def clusters_merge(args: argparse.Namespace, settings: Settings) -> int:
    pipeline = _pipeline(settings)
    first = pipeline.storage.get_cluster(args.first)
    if pipeline.merge_clusters(args.first, args.second) is None:
        print(STORED_NOT_APPLIED)
        return 0
    anchor = first.canonical_item_id if first is not None else None
    items = pipeline.storage.list_items(item_ids=[anchor]) if anchor is not None else []
    merged = (
        pipeline.storage.get_cluster(items[0].cluster_id)
        if items and items[0].cluster_id is not None
        else None
    )
    where = f"cluster {merged.id} ({merged.size} items)" if merged else "one cluster"
    print(
        f"merged clusters {args.first} and {args.second} into {where}; "
        "the correction is kept for later decisions"
    )
    return 0


def boilerplate_list(args: argparse.Namespace, settings: Settings) -> int:
    from aggregator.ingest.state import load_boilerplate

    learned = load_boilerplate(_storage(settings)).learned()
    return _emit(
        args,
        [{"key": b.key, "text": b.sample, "feeds": b.feeds, "items": b.items} for b in learned],
        lambda: table(
            [(b.items, b.feeds, b.sample) for b in learned], ["items", "feeds", "text"], {2: 90}
        ),
    )


def dedup_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    report = _pipeline(settings).rebuild(dry_run=args.dry_run)
    verb = "would move" if args.dry_run else "moved"
    print(
        f"re-decided {report.items} items: {verb} {report.moved} items; "
        f"{report.clusters_before} clusters before, {report.clusters_after} after"
    )
    for line in report.moves[:50]:
        print(f"  {line}")
    if len(report.moves) > 50:
        print(f"  … and {len(report.moves) - 50} more")
    return 0
