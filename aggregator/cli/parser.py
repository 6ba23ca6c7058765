"""The command line's grammar: nouns, verbs and their options."""

from __future__ import annotations

import argparse
from typing import Any

from aggregator import __version__
from aggregator.cli import database, feeds, search, users
from aggregator.cli import verbs as act
from aggregator.cli.verbs import Handler, limited

Verbs = Any
"""argparse's sub-parser collection (its type is private)."""


def _verb(verbs: Verbs, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = verbs.add_parser(name, help=help_text, description=help_text)
    sub.set_defaults(handler=handler)
    return sub


def _formatted(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
    sub.add_argument("--format", choices=("table", "json"), default="table")
    return sub


def _noun(verbs: Verbs, name: str, help_text: str) -> Verbs:
    return verbs.add_parser(name, help=help_text).add_subparsers(metavar="ACTION")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aggregator", description="A news feed aggregator that sees through syndication."
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $AGGREGATOR_CONFIG, else the first of ./config.yaml, "
        "$XDG_CONFIG_HOME/aggregator/config.yaml, /etc/aggregator/config.yaml; none: defaults)",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log progress to stderr (-vv for debug)"
    )
    parser.add_argument("--version", action="version", version=f"aggregator {__version__}")
    verbs = parser.add_subparsers(metavar="COMMAND")
    poll = _verb(
        verbs,
        "poll",
        act.poll,
        "fetch every feed once, ingest what is new and exit (`aggregator run` is the daemon)",
    )
    poll.add_argument("--once", action="store_true", help="the same (kept for old scripts)")
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
        "--threads",
        type=int,
        default=None,
        help="tasks at once (default: 5 × polling.concurrency, as many as one daemon fetches "
        "with its slow fetches)",
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
    db = _noun(verbs, "db", "the database: schema, retention, space")
    _verb(db, "upgrade", act.db_upgrade, "apply schema migrations")
    database.register(db, _verb)
    items_list = _formatted(
        _verb(
            _noun(verbs, "items", "stored items"),
            "list",
            act.items_list,
            "list items, newest first",
        )
    )
    items_list.add_argument("--feed", metavar="ID|URL", help="only this feed's items")
    limited(items_list, "items")
    _cluster_verbs(_noun(verbs, "clusters", "story clusters"))
    feeds.register(verbs, _verb)
    limited(
        _formatted(
            _verb(
                _noun(verbs, "boilerplate", "learned boilerplate"),
                "list",
                act.boilerplate_list,
                "blocks learned as boilerplate",
            )
        ),
        "blocks",
    )
    rebuild = _verb(
        _noun(verbs, "dedup", "near-duplicate decisions"),
        "rebuild",
        act.dedup_rebuild,
        "re-decide every item (after a config change) and report what moves",
    )
    rebuild.add_argument("--dry-run", action="store_true", help="report only, change nothing")
    search.register(verbs, _verb)
    users.register(verbs, _verb)
    return parser


def _cluster_verbs(clusters: Verbs) -> None:
    listing = _formatted(
        _verb(
            clusters,
            "list",
            act.clusters_list,
            "list clusters of copies, newest first (--all: every cluster, single items too)",
        )
    )
    limited(listing, "clusters", every="every cluster, single items too, no limit")
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
    # One item (why it sits where it does) or two (how they compare): two positionals, the
    # second optional, so --help shows `ITEM [ITEM]` and a third id is a usage error.
    explain.add_argument("item", type=int, metavar="ITEM", help="an item's id")
    explain.add_argument(
        "other",
        type=int,
        nargs="?",
        default=None,
        metavar="ITEM",
        help="a second item's id, to compare with the first",
    )
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
