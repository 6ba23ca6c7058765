"""What each verb of the command line does."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aggregator.cli.wording import counted
from aggregator.config import Settings
from aggregator.publish.views import cluster_dict, item_dict, table
from aggregator.types import ItemView

Handler = Callable[[argparse.Namespace, Settings], int]
LIST_LIMIT = 50
"""Rows a listing shows unless ``--limit`` or ``--all`` says otherwise."""
HAND_OVER_WAIT = 60.0
"""Seconds ``poll --once`` waits for the running daemon to place the items it stored."""


def _emit(args: argparse.Namespace, rows: list[dict[str, Any]], render: Callable[[], str]) -> int:
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(render())
    return 0


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def limited(sub: argparse.ArgumentParser, rows: str, every: str = "") -> argparse.ArgumentParser:
    """``--limit N`` (default :data:`LIST_LIMIT`) and ``--all`` on a listing; :func:`cut`
    reads them.  One helper for every listing, so each takes the same options the README's
    sentence about listings promises."""
    sub.add_argument(
        "--limit",
        type=_at_least_one,
        default=None,
        metavar="N",
        help=f"show at most N {rows} (default {LIST_LIMIT}; with --all, none)",
    )
    sub.add_argument("--all", action="store_true", help=every or f"show every one of the {rows}")
    return sub


def _limit(args: argparse.Namespace) -> int | None:
    """The rows a listing may show: ``--limit N``, else all of them with ``--all``, else
    :data:`LIST_LIMIT`."""
    if args.limit is not None:
        return int(args.limit)
    return None if args.all else LIST_LIMIT


def cut(args: argparse.Namespace, rows: list[Any], what: str) -> list[Any]:
    """``rows`` (all of them, or read with :func:`one_more` than the limit) cut to the
    limit, saying so on stderr when there were more: a listing never silently stops short.
    ``what`` is the noun for one row (``item``)."""
    limit = _limit(args)
    if limit is None or len(rows) <= limit:
        return rows
    print(
        f"aggregator: showing the first {counted(limit, what)}; --limit N or --all for more",
        file=sys.stderr,
    )
    return rows[:limit]


def one_more(args: argparse.Namespace) -> int | None:
    """The rows to read for :func:`cut` to know whether there were more than it shows."""
    limit = _limit(args)
    return None if limit is None else limit + 1


def _feed_names(storage: Any) -> dict[int, str]:
    """Each feed's name as tables show it (configured name, else title, else URL)."""
    return {f.id: f.shown_name for f in storage.list_feeds()}


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
            skipped = f", {o.skipped} skipped" if o.skipped else ""
            print(f"{o.status:<13} {o.feed_url}: {o.new} new, {o.updated} updated{skipped}")
    if pipeline.handed_over:
        left = pipeline.wait_until_decided(pipeline.handed_over, HAND_OVER_WAIT)
        print(
            f"another process (the daemon) decides on this database: handed it "
            f"{counted(len(pipeline.handed_over), 'item')}"
            + (f"; {len(left)} still wait for it" if left else ", all placed")
        )
    counts = pipeline.storage.counts()
    failed = sum(1 for o in outcomes if o.status == "error")
    print(
        f"polled {counted(len(outcomes), 'feed')} ({failed} failed): "
        f"{sum(o.new for o in outcomes)} new, {sum(o.updated for o in outcomes)} updated; "
        f"{counted(counts['items'], 'item')} in {counted(counts['clusters'], 'cluster')} "
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

    return run_worker(settings, args.threads, args.metrics_port)


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
    from aggregator.cli.feeds import reference

    storage = _storage(settings)
    feed_url = None
    if args.feed:
        found = storage.find_feed(reference(args.feed))
        if found is None:
            print(f"aggregator: no feed {args.feed} (see `aggregator feeds list`)", file=sys.stderr)
            return 1
        feed_url = found.url
    items: list[ItemView] = cut(
        args, storage.list_items(feed_url=feed_url, limit=one_more(args)), "item"
    )
    names = _feed_names(storage)
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
                    i.method or "",
                    i.title,
                    names.get(i.feed_id, i.feed_url),
                )
                for i in items
            ],
            ["id", "published", "cluster", "canon", "method", "title", "feed"],
            {5: 60, 6: 30},
        ),
    )


def clusters_list(args: argparse.Namespace, settings: Settings) -> int:
    clusters = cut(
        args,
        _storage(settings).list_clusters(min_size=1 if args.all else 2, limit=one_more(args)),
        "cluster",
    )
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
    storage = _storage(settings)
    cluster = storage.get_cluster(args.cluster_id)
    if cluster is None:
        print(f"aggregator: no cluster {args.cluster_id}", file=sys.stderr)
        return 1
    data = cluster_dict(cluster)
    if args.format == "json":
        return _emit(args, [data], str)
    names = _feed_names(storage)
    print(
        f"cluster {cluster.id}: {counted(cluster.size, 'item')} "
        f"from {counted(cluster.feed_count, 'feed')}"
    )
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
                    names.get(member.feed_id, member.feed_url),
                )
                for m, member in zip(data["members"], cluster.members, strict=True)
            ],
            ["item", "canon", "method", "score", "published", "title", "feed"],
            {5: 50, 6: 30},
        )
    )
    return 0


def clusters_explain(args: argparse.Namespace, settings: Settings) -> int:
    from aggregator.ingest.explain import explain
    from aggregator.ingest.state import dedup_params, load_boilerplate
    from aggregator.publish.views import explanation_dict

    item_ids = [args.item] if args.other is None else [args.item, args.other]
    storage = _storage(settings)
    report = explanation_dict(
        explain(storage, load_boilerplate(storage), dedup_params(settings.dedup), item_ids)
    )
    if args.format == "json":
        return _emit(args, [report], str)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def feeds_import_opml(args: argparse.Namespace, settings: Settings) -> int:
    from aggregator.fetch.policy import FetchPolicy
    from aggregator.publish.opml import parse_opml, subscribe_listed

    path = Path(args.file)
    try:
        listed = parse_opml(path.read_bytes())
    except OSError as exc:
        print(f"aggregator: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    results = subscribe_listed(_storage(settings), listed, FetchPolicy.from_config(settings.fetch))
    for result in results:
        if result.feed is None:
            print(f"skipped       {result.skipped}")
            continue
        print(
            f"{'added' if result.created else 'already':<13} {result.feed.url}"
            + (f" ({result.entry.group})" if result.entry.group else "")
        )
    added = sum(r.created for r in results)
    skipped = sum(r.feed is None for r in results)
    print(
        f"imported {counted(len(listed), 'feed')} from {path}: {added} added, "
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

    learned = cut(args, load_boilerplate(_storage(settings)).learned(), "block")
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
        f"re-decided {counted(report.items, 'item')}: {verb} {counted(report.moved, 'item')}; "
        f"{counted(report.clusters_before, 'cluster')} before, {report.clusters_after} after"
    )
    for line in report.moves[:50]:
        print(f"  {line}")
    if len(report.moves) > 50:
        print(f"  … and {len(report.moves) - 50} more")
    return 0
