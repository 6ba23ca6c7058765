"""The cleaned output as RSS 2.0, Atom 1.0 and JSON Feed 1.1.  Pure: entries in, bytes out.

One entry per cluster, showing its canonical item: its content, and its summary when its
source gave one beside the content (RSS ``<description>`` beside ``content:encoded``, Atom
``<summary>``, JSON Feed ``summary`` as plain text), and the authors of every copy with
the e-mail and web addresses their sources gave.  The entry's id is the *cluster's*
(``urn:aggregator:cluster:N``), so when a better copy becomes canonical a reader updates
the entry instead of showing the story twice.  Each entry says where else the story
appeared: an "Also published by" paragraph in the content (every format), Atom
``link rel="related"`` per copy, and the ``_aggregator`` extension object in JSON Feed.
RSS and Atom are written by feedgen; JSON Feed is plain JSON.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from feedgen.feed import FeedGenerator

from aggregator import __version__
from aggregator.clean.sanitize import safe_url, sanitize_html
from aggregator.clean.text import html_to_blocks
from aggregator.publish.redact import redact_url
from aggregator.publish.views import iso
from aggregator.types import ClusterView, ItemView, Person

JSONFEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_NS = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM_NS)  # write Atom as the default namespace, no ns0: prefix
GENERATOR = f"aggregator {__version__}"
# Characters XML 1.0 cannot carry at all; lxml refuses them, so they are dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def published_link(item: ItemView) -> str | None:
    """The item's link without tracking parameters, if it is one we may publish."""
    return safe_url(item.canonical_link) or safe_url(item.link)


def person_label(person: Person) -> str:
    """One name for a person where a format wants one: the name, else the e-mail address,
    else the web address."""
    return person.name or person.email or person.url or ""


@dataclass(frozen=True)
class Copy:
    item: ItemView
    source: str
    """The feed's name as a person knows it."""


@dataclass(frozen=True)
class Entry:
    """One story as published (built by :mod:`aggregator.publish.entries`)."""

    cluster: ClusterView
    canonical: ItemView
    """The copy whose content is published."""
    title: str
    """Without the feed's title affixes (unless cleaning is off)."""
    content: str
    """The canonical copy's content, cleaned and sanitised (or only sanitised)."""
    authors: tuple[Person, ...]
    """Every copy's authors, the canonical copy's first."""
    published: datetime
    """The story's first publication: the earliest copy's."""
    updated: datetime
    """When the published copy last changed the story (``published`` when it did not)."""
    source: str
    """The canonical copy's feed, by the name a person knows it by."""
    source_url: str | None
    """That feed's address, when it is one a reader can fetch (http/https)."""
    copies: tuple[Copy, ...]
    """The other members, canonical excluded."""
    page_url: str
    """The cluster's page on this site ("why these were merged")."""
    summary: str = ""
    """The canonical copy's summary beside its content, cleaned as the content is (empty:
    its source gave one text)."""

    @property
    def id(self) -> str:
        return f"urn:aggregator:cluster:{self.cluster.id}"

    @property
    def link(self) -> str | None:
        return published_link(self.canonical)


@dataclass(frozen=True)
class FeedMeta:
    title: str
    description: str
    self_url: str
    home_url: str
    updated: datetime | None
    about_url: str
    """Where the ``_aggregator`` JSON Feed extension is described."""


def entry_html(entry: Entry) -> str:
    """The canonical item's (cleaned) content plus where else the story appeared."""
    parts = [entry.content]
    if not parts[0].strip():
        parts = [f"<p>{html.escape(entry.title)}</p>"]
    if entry.copies:
        links = []
        for copy in entry.copies:
            name = html.escape(copy.source)
            link = published_link(copy.item)
            links.append(f'<a href="{html.escape(link)}">{name}</a>' if link else name)
        parts.append(f"<p><strong>Also published by:</strong> {', '.join(links)}</p>")
    feeds = entry.cluster.feed_count
    parts.append(
        f'<p><a href="{html.escape(entry.page_url)}">'
        f"{len(entry.copies) + 1} cop{'ies' if entry.copies else 'y'} "
        f"from {feeds} feed{'s' if feeds != 1 else ''}</a></p>"
    )
    # Sanitised once more as a whole: the joins above must not be the weak spot.
    return sanitize_html("\n".join(parts))


def _x(text: str) -> str:
    return _NOT_XML.sub("", text)


def _generator(meta: FeedMeta, entries: Sequence[Entry], self_type: str) -> FeedGenerator:
    atom = self_type == "application/atom+xml"
    fg = FeedGenerator()
    fg.id(_x(meta.self_url))
    fg.title(_x(meta.title))
    fg.subtitle(_x(meta.description))  # also the RSS <description>
    fg.link(href=_x(meta.self_url), rel="self", type=self_type)
    fg.link(href=_x(meta.home_url), rel="alternate")  # last: feedgen's RSS <link> is the last
    fg.author({"name": "aggregator"})
    fg.generator("aggregator", version=__version__)
    # RSS <author> must be an e-mail address; a name goes into <dc:creator>.
    fg.load_extension("dc", atom=False, rss=True)
    # Fixed, not "now": the same content must give the same bytes (and the same ETag).
    stamp = meta.updated or datetime(1970, 1, 1, tzinfo=UTC)
    fg.updated(stamp)
    fg.lastBuildDate(stamp)
    for entry in entries:
        fe = fg.add_entry(order="append")
        fe.id(entry.id)
        fe.guid(entry.id, permalink=False)
        fe.title(_x(entry.title))
        if entry.link:
            fe.link(href=_x(entry.link), rel="alternate")
        for copy in entry.copies:
            link = published_link(copy.item)
            if link:
                fe.link(href=_x(link), rel="related", title=_x(copy.source))
        fe.content(_x(entry_html(entry)), type="html")
        if entry.summary:  # Atom <summary>; RSS <description>, the content then in content:encoded
            fe.summary(_x(entry.summary), type="html")
        fe.published(entry.published)
        fe.updated(entry.updated)
        for author in entry.authors:
            # Atom needs a name; feedgen writes RSS's <author> ("email (name)") only for
            # an author with an e-mail address, so there the name is the real one.
            name = person_label(author) if atom else author.name
            parts = (("name", name), ("email", author.email), ("uri", author.url))
            fe.author({key: _x(value) for key, value in parts if value})
        if entry.authors:
            fe.dc.dc_creator([_x(person_label(a)) for a in entry.authors])
        if entry.source_url:
            # The feed the published copy came from (RSS 2.0 and Atom: the source *feed*).
            fe.source(url=_x(entry.source_url), title=_x(entry.source))
    return fg


def render_rss(meta: FeedMeta, entries: Sequence[Entry]) -> bytes:
    data: bytes = _generator(meta, entries, "application/rss+xml").rss_str(pretty=True)
    return data


def render_atom(meta: FeedMeta, entries: Sequence[Entry]) -> bytes:
    data: bytes = _generator(meta, entries, "application/atom+xml").atom_str(pretty=True)
    return _restore_link_relations(data, entries)


def _restore_link_relations(data: bytes, entries: Sequence[Entry]) -> bytes:
    """Put back the ``rel``/``title`` of entry links that feedgen 1.0 drops.

    (Its Atom writer reads them from the new XML element instead of the link's data, so
    every entry link came out as a bare alternate.)  We parse our own output only.
    """
    root = ET.fromstring(data)
    for element, entry in zip(root.findall(f"{{{ATOM_NS}}}entry"), entries, strict=True):
        expected: list[tuple[str, str | None]] = [("alternate", None)] if entry.link else []
        expected += [("related", _x(c.source)) for c in entry.copies if published_link(c.item)]
        for link, (rel, title) in zip(element.findall(f"{{{ATOM_NS}}}link"), expected, strict=True):
            link.set("rel", rel)
            if title:
                link.set("title", title)
        source = element.find(f"{{{ATOM_NS}}}source")
        if source is not None and entry.source_url:
            # feedgen writes the source feed's address as a bare link; it is the feed's own.
            for link in source.findall(f"{{{ATOM_NS}}}link"):
                link.set("rel", "self")
            identity = ET.Element(f"{{{ATOM_NS}}}id")
            identity.text = _x(entry.source_url)
            source.insert(0, identity)
    ET.indent(root)
    out: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return out


def render_json_feed(meta: FeedMeta, entries: Sequence[Entry]) -> bytes:
    items: list[dict[str, object]] = []
    for entry in entries:
        item: dict[str, object] = {
            "id": entry.id,
            "title": entry.title,
            "content_html": entry_html(entry),
            "date_published": iso(entry.published),
            "date_modified": iso(entry.updated),
            "_aggregator": {
                "about": meta.about_url,
                "cluster_id": entry.cluster.id,
                "cluster_url": entry.page_url,
                "canonical_item_id": entry.canonical.id,
                "source": entry.source,
                "source_feed_url": entry.source_url,
                "size": entry.cluster.size,
                "feed_count": entry.cluster.feed_count,
                "copies": [
                    {
                        "item_id": c.item.id,
                        "feed": c.source,
                        "feed_url": redact_url(c.item.feed_url),
                        "title": c.item.title,
                        "link": published_link(c.item),
                        "published": iso(c.item.published),
                        "method": c.item.method,
                        "score": c.item.score,
                    }
                    for c in entry.copies
                ],
            },
        }
        if entry.link:
            item["url"] = entry.link
        if entry.summary:
            item["summary"] = " ".join(html_to_blocks(entry.summary))
        if entry.authors:
            item["authors"] = [_json_author(a) for a in entry.authors]
        items.append(item)
    document = {
        "version": JSONFEED_VERSION,
        "title": meta.title,
        "description": meta.description,
        "home_page_url": meta.home_url,
        "feed_url": meta.self_url,
        "authors": [{"name": "aggregator"}],
        "items": items,
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def _json_author(author: Person) -> dict[str, str]:
    """A JSON Feed author: its name and its web address, else a ``mailto:`` address."""
    out = {"name": author.name} if author.name else {}
    if author.url:
        out["url"] = author.url
    elif author.email:
        out["url"] = f"mailto:{author.email}"
    return out
