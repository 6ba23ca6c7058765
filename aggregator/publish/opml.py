"""OPML 2.0 subscription lists: read one into feed specs, write our feeds as one.

Reading: every ``<outline>`` with an ``xmlUrl`` is a feed; its name is its ``title`` or
``text``; its group is its ``category`` attribute, else the folder outline around it.
OPML files come from other programs and the web, so the parser refuses any DTD or entity
declaration (the billion-laughs and external-entity tricks need one; OPML never does).
Subscribing (the CLI's ``feeds import-opml`` and the web form): OPML files come from the
web, so each address must be an http(s) URL to a public address by the fetch policy.
Writing: feeds grouped into folder outlines by their group, in a stable order, so the
same subscriptions always give the same bytes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from xml.parsers import expat

from aggregator.errors import AggregatorError, FeedError
from aggregator.fetch.policy import FetchPolicy, check_outside_url
from aggregator.storage import Storage
from aggregator.types import FeedSpec, FeedView

__all__ = ["Imported", "OpmlFeed", "parse_opml", "render_opml", "subscribe_listed"]

MAX_OUTLINES = 10_000
MAX_GROUP = 200
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class OpmlFeed:
    """A subscription as an OPML file states it (the URL not yet resolved)."""

    url: str
    name: str | None = None
    group: str | None = None


class OpmlError(AggregatorError):
    """The file is not an OPML subscription list we can read."""


def _refuse(*_args: object) -> None:
    raise OpmlError("opml: DTDs and entity declarations are not accepted")


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """The feeds listed in an OPML document, in document order, without duplicates."""
    feeds: list[OpmlFeed] = []
    seen: set[str] = set()
    folders: list[str | None] = []
    outlines = 0
    found_opml = False

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal outlines, found_opml
        if tag == "opml":
            found_opml = True
        if tag != "outline":
            return
        outlines += 1
        if outlines > MAX_OUTLINES:
            raise OpmlError(f"opml: more than {MAX_OUTLINES} outlines")
        url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
        name = (attrs.get("title") or attrs.get("text") or "").strip() or None
        if not url:
            folders.append(name)  # a folder: its name is the group of what it holds
            return
        folders.append(None)
        category = (attrs.get("category") or "").split(",")[0].strip().strip("/")
        group = (
            category.split("/")[-1]
            if category
            else next((f for f in reversed(folders[:-1]) if f), None)
        )
        if url not in seen:
            seen.add(url)
            # Groups are stored in a 200-character column (PostgreSQL enforces it).
            feeds.append(OpmlFeed(url=url, name=name, group=(group or "")[:MAX_GROUP] or None))

    def end(tag: str) -> None:
        if tag == "outline" and folders:
            folders.pop()

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse  # type: ignore[assignment]
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise OpmlError(f"opml: not well-formed XML: {exc}") from exc
    if not found_opml:
        raise OpmlError("opml: no <opml> element: not an OPML file")
    return feeds


@dataclass(frozen=True)
class Imported:
    """What became of one feed an OPML file lists."""

    entry: OpmlFeed
    feed: FeedView | None
    """The subscription (new or already there); None when skipped."""
    created: bool = False
    skipped: str | None = None
    """Why it was not subscribed."""


def subscribe_listed(
    storage: Storage, listed: Sequence[OpmlFeed], policy: FetchPolicy
) -> list[Imported]:
    """Subscribe to the feeds an OPML file lists, each URL checked by ``policy`` first."""
    results: list[Imported] = []
    for entry in listed:
        # Only http(s) URLs to public addresses, never a path or file:// (nothing is looked
        # up on disk, so no answer tells which files exist).
        try:
            url = check_outside_url(entry.url, policy)
        except FeedError as exc:
            results.append(Imported(entry, None, skipped=str(exc)))
            continue
        feed, created = storage.add_feed(
            FeedSpec(url=url, name=entry.name, group=entry.group), origin="opml"
        )
        results.append(Imported(entry, feed, created))
    return results


def _x(text: str | None) -> str:
    return _NOT_XML.sub("", text or "")


def render_opml(feeds: Sequence[FeedView], title: str = "aggregator subscriptions") -> bytes:
    """OPML 2.0 listing ``feeds``, grouped into folders by their group."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _x(title)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in sorted(feeds, key=lambda f: (f.group is not None, f.group or "", f.id)):
        parent = body
        if feed.group:
            parent = folders.get(feed.group) or ET.SubElement(
                body, "outline", text=_x(feed.group), title=_x(feed.group)
            )
            folders[feed.group] = parent
        name = _x(feed.name or feed.title or feed.url)
        attrs = {"type": "rss", "text": name, "title": name, "xmlUrl": _x(feed.url)}
        if feed.group:
            attrs["category"] = _x(feed.group)
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
