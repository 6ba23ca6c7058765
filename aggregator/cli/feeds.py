"""``aggregator feeds list|add|edit|remove|import-opml|export-opml``: the subscriptions.

``feeds add`` looks before it subscribes (:mod:`aggregator.ingest.subscribe`): a URL that
is not a feed is refused with the reason, a site's page offers the feeds found on it.
A feed is named by its id (as ``feeds list`` shows it) or its URL wherever one is asked.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aggregator.cli import verbs
from aggregator.cli.wording import counted
from aggregator.config import MAX_PRIORITY, Settings, parse_duration, resolve_feed_url
from aggregator.errors import ConfigError, FeedError
from aggregator.publish.views import feed_dict, table
from aggregator.types import FeedChanges, FeedSpec, FeedView

Verb = Callable[[Any, str, Callable[[argparse.Namespace, Settings], int], str], Any]
CHOOSE = 2
"""Exit status of ``feeds add`` on a page offering several feeds: nothing was done, the
user picks one (a usage answer, as argparse gives)."""


def register(nouns: Any, verb: Verb) -> None:
    """Add the ``feeds`` noun and its verbs to the command line."""
    feeds = nouns.add_parser("feeds", help="subscribed feeds").add_subparsers(metavar="ACTION")
    listing = verb(feeds, "list", feeds_list, "list feeds: id, name, group, health")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    verbs.limited(listing, "feeds")
    add = verb(
        feeds,
        "add",
        feeds_add,
        "subscribe to a feed (URL or path); a site's page offers the feeds found on it",
    )
    add.add_argument("url", metavar="URL")
    _settings_options(add)
    add.add_argument(
        "--force",
        action="store_true",
        help="subscribe without fetching the URL first (even if it is not a feed now)",
    )
    edit = verb(feeds, "edit", feeds_edit, "change a feed's name, group, priority or interval")
    edit.add_argument("feed", metavar="ID|URL")
    _settings_options(edit, editing=True)
    state = edit.add_mutually_exclusive_group()
    state.add_argument(
        "--enabled", dest="enabled", action="store_const", const=True, help="poll it again"
    )
    state.add_argument(
        "--disabled", dest="enabled", action="store_const", const=False, help="stop polling it"
    )
    remove = verb(feeds, "remove", feeds_remove, "unsubscribe and delete the feed's items")
    remove.add_argument("feed", metavar="ID|URL")
    # OPML in and out live with the other verbs (shared with the web face's import).
    import_opml = verb(
        feeds, "import-opml", verbs.feeds_import_opml, "subscribe to every feed of an OPML file"
    )
    import_opml.add_argument("file", metavar="FILE")
    export_opml = verb(
        feeds, "export-opml", verbs.feeds_export_opml, "write the subscriptions as OPML (to stdout)"
    )
    export_opml.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead")


def _settings_options(sub: argparse.ArgumentParser, editing: bool = False) -> None:
    clear = ' ("" removes it)' if editing else ""
    sub.add_argument("--name", help=f"the name tables and pages show{clear}")
    sub.add_argument("--group", help=f"its group, whatever the case{clear}")
    sub.add_argument(
        "--priority",
        type=_priority,
        default=None,
        help="higher wins the canonical copy of a story (default 0)",
    )
    sub.add_argument(
        "--interval",
        type=_interval,
        default=None,
        metavar="DURATION",
        help="time between polls: 90s, 15m, 2h; `default` for polling.interval",
    )


def _priority(text: str) -> int:
    """A feed priority within the range the config accepts (a database column holds it)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not -1000 <= value <= MAX_PRIORITY:
        raise argparse.ArgumentTypeError(f"must be between -1000 and {MAX_PRIORITY}, got {value}")
    return value


def _interval(text: str) -> float:
    """A duration as the config writes one; ``default`` (edit) goes back to the global one."""
    if text.strip().lower() == "default":
        return 0.0
    try:
        return parse_duration(text, "--interval")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _storage(settings: Settings) -> Any:
    from aggregator.storage import Storage

    storage = Storage(settings.database)
    storage.upgrade()
    return storage


def reference(text: str) -> int | str:
    """A feed as the user names it: an id (digits) or a URL (a path resolved against the
    current directory, as ``feeds add`` stored it)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        return resolve_feed_url(text, Path.cwd())
    except ConfigError:
        return text  # an unknown scheme: no feed has it, the lookup says so


def _in_config(settings: Settings, feed: FeedView) -> bool:
    return any(spec.url == feed.url for spec in settings.feeds)


# -- verbs ------------------------------------------------------------------------------


def feeds_list(args: argparse.Namespace, settings: Settings) -> int:
    import json

    feeds: list[FeedView] = verbs.cut(args, _storage(settings).list_feeds(), "feed")
    if args.format == "json":
        json.dump([feed_dict(f) for f in feeds], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    print(
        table(
            [
                (
                    f.id,
                    f.shown_name,
                    f.group or "",
                    "off" if f.disabled else f.priority,
                    f.item_count,
                    f.error_count,
                    (f.last_success.strftime("%Y-%m-%d %H:%M") if f.last_success else "never"),
                    f.last_error or "",
                    f.url,
                )
                for f in feeds
            ],
            [
                "id",
                "name",
                "group",
                "priority",
                "items",
                "errors",
                "last success",
                "last error",
                "url",
            ],
            {1: 30, 2: 20, 7: 40, 8: 60},
        )
    )
    return 0


def feeds_add(args: argparse.Namespace, settings: Settings) -> int:
    from aggregator.ingest.subscribe import discover

    if args.force:
        return _subscribe(settings, args, _forced_url(args.url), "without looking at it")
    found = discover(args.url, settings, origin="cli")
    if found.is_feed:
        return _subscribe(settings, args, found.url, "")
    if len(found.candidates) == 1:
        (only,) = found.candidates
        print(f"{found.url} is a page, not a feed; it offers one feed: {only.url}")
        return _subscribe(settings, args, only.url, "")
    if found.candidates:
        print(
            f"aggregator: {found.url} is a page, not a feed; it offers "
            f"{len(found.candidates)} feeds. Add one of them:",
            file=sys.stderr,
        )
        for candidate in found.candidates:
            print(f"  aggregator feeds add {candidate.url}", file=sys.stderr, end="")
            print(f"    # {candidate.title}" if candidate.title else "", file=sys.stderr)
        return CHOOSE
    print(
        f"aggregator: not subscribed to {found.url}: {found.reason} (--force subscribes anyway)",
        file=sys.stderr,
    )
    return 1


def _forced_url(text: str) -> str:
    """The URL ``--force`` subscribes to: as typed, a path resolved against the cwd."""
    try:
        return resolve_feed_url(text.strip(), Path.cwd())
    except ConfigError as exc:
        raise FeedError(text, exc.message) from None


def _subscribe(settings: Settings, args: argparse.Namespace, url: str, how: str) -> int:
    spec = FeedSpec(
        url=url,
        name=args.name,
        group=args.group,
        priority=args.priority or 0,
        interval=args.interval or None,  # "default" (0) is what a new feed has anyway
    )
    feed, created = _storage(settings).add_feed(spec)
    if created:
        print(f"added: {feed.url} (id {feed.id}{', ' + how if how else ''})")
        return 0
    print(
        f"already subscribed: {feed.url} (id {feed.id}); "
        f"`aggregator feeds edit {feed.id} …` changes its name, group, priority or interval"
    )
    return 0


def feeds_edit(args: argparse.Namespace, settings: Settings) -> int:
    changes = FeedChanges(
        name=args.name,
        group=args.group,
        priority=args.priority,
        interval=args.interval,
        enabled=args.enabled,
    )
    if changes == FeedChanges():
        print(
            "aggregator: nothing to change: give --name, --group, --priority, --interval, "
            "--enabled or --disabled",
            file=sys.stderr,
        )
        return 2
    storage = _storage(settings)
    found = storage.find_feed(reference(args.feed))
    if found is None:
        print(f"aggregator: no feed {args.feed} (see `aggregator feeds list`)", file=sys.stderr)
        return 1
    feed: FeedView | None = storage.edit_feed(found.id, changes)
    if feed is None:  # removed by another process meanwhile
        print(f"aggregator: no feed {args.feed} (see `aggregator feeds list`)", file=sys.stderr)
        return 1
    interval = f"every {_duration(feed.interval)}" if feed.interval else "the default interval"
    print(
        f"feed {feed.id}: {feed.shown_name}; group {feed.group or '(none)'}, "
        f"priority {feed.priority}, {interval}, {'disabled' if feed.disabled else 'enabled'}"
    )
    if _in_config(settings, feed) and (
        args.name is not None
        or args.group is not None
        or args.priority is not None
        or args.interval is not None
    ):
        print(
            "note: the feed is listed in the config file, whose settings come back at the "
            "next start; change them there too",
            file=sys.stderr,
        )
    return 0


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def feeds_remove(args: argparse.Namespace, settings: Settings) -> int:
    storage = _storage(settings)
    found = storage.find_feed(reference(args.feed))
    if found is None:
        print(f"aggregator: no feed {args.feed} (see `aggregator feeds list`)", file=sys.stderr)
        return 1
    removed = storage.remove_feed(found.id)
    print(f"removed feed {found.id} ({found.url}) and its {counted(removed or 0, 'item')}")
    if _in_config(settings, found):
        print(
            "note: the feed is still listed in the config file and will come back at the next "
            "poll; delete it there too",
            file=sys.stderr,
        )
    return 0
