"""``aggregator search TEXT``: the stories whose titles or texts hold every word of TEXT."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from aggregator.config import Settings
from aggregator.publish.views import search_hit_dict, table

Verb = Callable[[Any, str, Callable[[argparse.Namespace, Settings], int], str], Any]
DEFAULT_LIMIT = 20
MAX_LIMIT = 500


def register(nouns: Any, verb: Verb) -> None:
    """Add the ``search`` verb to the command line."""
    search = verb(
        nouns,
        "search",
        run_search,
        "find stories by words of their titles and texts, best match first",
    )
    search.add_argument(
        "text", nargs="+", metavar="TEXT", help="words to find (all of them; no syntax)"
    )
    search.add_argument("--format", choices=("table", "json"), default="table")
    search.add_argument(
        "--limit",
        type=_limit,
        default=DEFAULT_LIMIT,
        help=f"at most this many stories (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})",
    )


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_LIMIT}, got {value}")
    return value


def run_search(args: argparse.Namespace, settings: Settings) -> int:
    from aggregator.storage import Storage

    storage = Storage(settings.database)
    storage.upgrade()
    hits = storage.search_stories(" ".join(args.text), limit=args.limit)
    if args.format == "json":
        # The feed named as the tables name it; its URL stays whole: the web face hides
        # credentials in it, the operator at the command line sees what `feeds list` shows.
        names = {f.id: f.shown_name for f in storage.list_feeds()}
        stories = [search_hit_dict(h, names.get(h.feed_id, h.feed_url)) for h in hits]
        json.dump(stories, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    if not hits:
        print("no story matches")
        return 0
    print(
        table(
            [(h.cluster_id, h.size, h.title, h.link, h.snippet_text) for h in hits],
            ["story", "copies", "title", "link", "snippet"],
            {2: 50, 4: 70},  # the link is never cut: a cut link cannot be followed
        )
    )
    return 0
