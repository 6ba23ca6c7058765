"""The command line's grammar: nouns, verbs and their options."""

from __future__ import annotations

import argparse
from typing import Any

from aggregator import __version__
from aggregator.cli import users
from aggregator.cli import verbs as act
from aggregator.cli.verbs import Handler

Verbs = Any
"""argparse's sub-parser collection (its type is private)."""


def _verb(verbs: Verbs, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = verbs.add_parser(name, help=help_text, description=help_text)
    sub.set_defaults(handler=handler)
    return sub


def _formatted(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
    sub.add_argument("--format", choices=("table", "json"), default="table")
    return sub


def _priority(text: str) -> int:
    """A feed priority within the range the config accepts (a database column holds it)."""
    from aggregator.config import MAX_PRIORITY

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not -1000 <= value <= MAX_PRIORITY:
        raise argparse.ArgumentTypeError(f"must be between -1000 and {MAX_PRIORITY}, got {value}")
    return value


def _noun(verbs: Verbs, name: str, help_text: str) -> Verbs:
    return verbs.add_parser(name, help=help_text).add_subparsers(metavar="ACTION")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aggregator", description="A news feed aggregator that sees through syndication."
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $AGGREGATOR_CONFIG or ./config.yaml)",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log progress to stderr (-vv for debug)"
    )
    parser.add_argument("--version", action="version", version=f"aggregator {__version__}")
    verbs = parser.add_subparsers(metavar="COMMAND")
    poll = _verb(verbs, "poll", act.poll, "fetch every feed once and ingest what is new")
    poll.add_argument(
        "--once",
        action="store_true",
        required=True,
        help="poll once and exit (use `aggregator run` for the daemon)",
    )
    _verb(
        verbs,
        "run",
        act.run,
        "run the daemon: poll feeds on their schedule and serve the web face",
    )
    serve = _verb(verbs, "serve", act.serve, "serve the web face alone (no polling)")
    serve.add_argument(
        "--port", type=int, default=None, help="listen on this port (default: server.port)"
    )
    worker = _verb(
        verbs,
        "worker",
        act.worker,
        "take poll tasks from the broker: fetch, parse, clean and store feeds "
        "(PostgreSQL and a broker; any number of them)",
    )
    worker.add_argument(
        "--threads", type=int, default=None, help="tasks at once (default: polling.concurrency)"
    )
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve Prometheus metrics on this port",
    )
    decider = _verb(
        verbs,
        "decider",
        act.decider,
        "hand due feeds to the workers and decide what they store (one decides, others stand by)",
    )
    decider.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve Prometheus metrics on this port",
    )
    _verb(
        _noun(verbs, "db", "database schema"),
        "upgrade",
        act.db_upgrade,
        "apply schema migrations",
    )
    items_list = _formatted(
        _verb(
            _noun(verbs, "items", "stored items"),
            "list",
            act.items_list,
            "list items, newest first",
        )
    )
    items_list.add_argument("--feed", metavar="URL", help="only this feed's items")
    items_list.add_argument("--limit", type=int, default=None)
    _cluster_verbs(_noun(verbs, "clusters", "story clusters"))
    _feed_verbs(_noun(verbs, "feeds", "subscribed feeds"))
    _formatted(
        _verb(
            _noun(verbs, "boilerplate", "learned boilerplate"),
            "list",
            act.boilerplate_list,
            "blocks learned as boilerplate",
        )
    )
    rebuild = _verb(
        _noun(verbs, "dedup", "near-duplicate decisions"),
        "rebuild",
        act.dedup_rebuild,
        "re-decide every item (after a config change) and report what moves",
    )
    rebuild.add_argument("--dry-run", action="store_true", help="report only, change nothing")
    users.register(verbs, _verb)
    return parser


def _cluster_verbs(clusters: Verbs) -> None:
    listing = _formatted(
        _verb(
            clusters, "list", act.clusters_list, "list clusters of copies (size ≥ 2 unless --all)"
        )
    )
    listing.add_argument("--all", action="store_true", help="include single items")
    listing.add_argument("--limit", type=int, default=None)
    show = _formatted(
        _verb(clusters, "show", act.clusters_show, "show one cluster and its members")
    )
    show.add_argument("cluster_id", type=int, metavar="ID")
    explain = _formatted(
        _verb(
            clusters,
            "explain",
            act.clusters_explain,
            "why an item sits where it does, or how two items compare",
        )
    )
    explain.add_argument("item_ids", type=int, nargs="+", metavar="ITEM")
    split = _verb(
        clusters,
        "split",
        act.clusters_split,
        "take an item out of its cluster (a correction kept for later decisions)",
    )
    split.add_argument("item_id", type=int, metavar="ITEM")
    merge = _verb(
        clusters,
        "merge",
        act.clusters_merge,
        "merge two clusters into one (a correction kept for later decisions)",
    )
    merge.add_argument("first", type=int, metavar="A")
    merge.add_argument("second", type=int, metavar="B")


def _feed_verbs(feeds: Verbs) -> None:
    _formatted(_verb(feeds, "list", act.feeds_list, "list feeds and their health"))
    add = _verb(feeds, "add", act.feeds_add, "subscribe to a feed (URL or path)")
    add.add_argument("url")
    add.add_argument("--name")
    add.add_argument("--group")
    add.add_argument("--priority", type=_priority, default=0)
    remove = _verb(feeds, "remove", act.feeds_remove, "unsubscribe and delete the feed's items")
    remove.add_argument("url")
    import_opml = _verb(
        feeds, "import-opml", act.feeds_import_opml, "subscribe to every feed of an OPML file"
    )
    import_opml.add_argument("file", metavar="FILE")
    export_opml = _verb(
        feeds, "export-opml", act.feeds_export_opml, "write the subscriptions as OPML (to stdout)"
    )
    export_opml.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead")
