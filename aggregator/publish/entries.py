"""What a published entry says about its story, from the stored copies.

* **Content**: the canonical copy's, cleaned on the way out
  (:func:`aggregator.clean.published.clean_published_html`: learned and generic
  boilerplate, "READ MORE:" link lines, the truncation marker, mojibake); stored content is
  never changed.
* **Summary**: the canonical copy's other, shorter text when its source gave two, cleaned
  the same way.
* **Title**: the canonical copy's without its feed's learned affixes
  (:mod:`aggregator.clean.titles`), spelled as the earliest copy with the same words spells
  it (a copy that shouts in capitals or straightens the quotes does not win by priority).
* **Authors**: every copy's authors, the canonical copy's first, with the e-mail address
  and web address their sources gave (a name given twice counts once).
* **Dates**: published when the story first appeared (its earliest copy); updated when the
  published copy appeared or was last edited, if that is later.
* **Source**: the canonical copy's feed (its address, not the article's).

``?full=1`` and a feed's ``clean: false`` publish the content and title as the source
wrote them (sanitised all the same).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from aggregator.clean.published import clean_published_html, repair_text
from aggregator.clean.sanitize import safe_url, sanitize_html
from aggregator.clean.text import fold
from aggregator.clean.titles import TitleAffixes
from aggregator.publish.formats import Copy, Entry, person_label, published_link
from aggregator.publish.reasons import feed_label
from aggregator.types import ClusterView, FeedView, ItemView, Person

MAX_AUTHORS = 5


@dataclass(frozen=True)
class Cleaning:
    """What cleaning the published entries get."""

    is_learned: Callable[[str], bool]
    """Whether a folded block is learned boilerplate (the boilerplate model)."""
    affixes: TitleAffixes
    raw_feed_urls: Collection[str] = ()
    """Feeds configured with ``clean: false`` (their configured URL)."""
    full: bool = False
    """``?full=1``: no cleaning at all."""
    max_bytes: int | None = None
    """Published content of one entry is cut to this many bytes (``server.max_item_bytes``),
    with a link to the original; None: not cut."""

    def applies_to(self, item: ItemView) -> bool:
        return not self.full and item.feed_url not in self.raw_feed_urls


def published_content(item: ItemView, cleaning: Cleaning) -> str:
    """The item's content as the feeds publish it (sanitised HTML), cut to
    ``cleaning.max_bytes`` (see :func:`cut_content`)."""
    return _published_html(item.content_html, item, cleaning)


def published_summary(item: ItemView, cleaning: Cleaning) -> str:
    """The item's summary as the feeds publish it, cleaned and cut as its content is;
    empty when it has none, or when nothing of it is left."""
    if not item.summary_html:
        return ""
    summary = _published_html(item.summary_html, item, cleaning)
    return summary if summary.strip() else ""


def _published_html(whole: str, item: ItemView, cleaning: Cleaning) -> str:
    source = whole
    limit = cleaning.max_bytes
    if limit is not None and len(source) > 2 * limit:
        # Cleaning a 5 MB document costs many times its size: only what can be shown is
        # cleaned (cleaning removes blocks, so twice the cap leaves enough).
        source = source[: 2 * limit]
    if not cleaning.applies_to(item):
        html_ = sanitize_html(source)
    else:
        html_ = clean_published_html(source, cleaning.is_learned).html
    if limit is None or (len(html_) <= limit // 4 and source is whole):
        return html_
    return cut_content(html_, limit, published_link(item), cut=source is not whole)


def cut_content(fragment: str, limit: int, link: str | None, cut: bool = False) -> str:
    """``fragment`` when its UTF-8 form fits in ``limit`` bytes (and ``cut`` is False: it
    is whole), else its beginning, closed and sanitised, and a paragraph linking to the
    original."""
    data = fragment.encode("utf-8")
    if len(data) <= limit and not cut:
        return fragment
    note = "<p><em>This story is longer than this feed carries"
    note += (
        f': <a href="{html.escape(link)}">read it all at its source</a>.</em></p>'
        if link
        else ".</em></p>"
    )
    room = max(0, limit - len(note.encode("utf-8")) - 64)
    head = data[:room].decode("utf-8", "ignore")
    cut_at = head.rfind("<")
    if cut_at > head.rfind(">"):
        head = head[:cut_at]  # no half tag
    return sanitize_html(head) + "\n" + note


def clean_title(item: ItemView, cleaning: Cleaning) -> str | None:
    """The item's title without its feed's affixes, mojibake repaired."""
    if not item.title or not cleaning.applies_to(item):
        return item.title
    stripped = cleaning.affixes.strip(item.feed_id, item.title)
    return repair_text(stripped) if stripped else stripped


def story_title(cluster: ClusterView, canonical: ItemView, cleaning: Cleaning) -> str:
    title = clean_title(canonical, cleaning)
    if not title:
        return "(untitled)"
    if not cleaning.applies_to(canonical):
        return title
    same = [
        (m.published or cluster.created, m.id, spelled)
        for m in cluster.members
        if (spelled := clean_title(m, cleaning)) and fold(spelled) == fold(title)
    ]
    return min(same)[2] if same else title


def story_dates(cluster: ClusterView, canonical: ItemView) -> tuple[datetime, datetime]:
    """``(published, updated)``: the first publication, and the published copy's own time
    (its publication or its last edit) when that is later."""
    times = [m.published or m.updated for m in cluster.members]
    known = [t for t in times if t is not None]
    shown = canonical.published or canonical.updated or cluster.created
    first = min(known) if known else shown
    latest = max(t for t in (first, shown, canonical.updated) if t is not None)
    return first, latest


def story_authors(
    cluster: ClusterView, canonical: ItemView, cleaning: Cleaning
) -> tuple[Person, ...]:
    ordered = [canonical, *(m for m in cluster.members if m.id != canonical.id)]
    people: dict[str, Person] = {}
    for member in ordered:
        for author in member.authors:
            shown = published_person(author, repair=cleaning.applies_to(member))
            if shown is not None:
                # The first copy to name a person gives the details.
                people.setdefault(fold(shown.name) if shown.name else person_label(shown), shown)
    return tuple(people.values())[:MAX_AUTHORS]


def published_person(author: Person, repair: bool = True) -> Person | None:
    """``author`` as published: the name on one line (mojibake repaired unless ``repair``
    is false), the e-mail address as given, the URL when it is a web link we may publish.
    None when none of them is left.

    E-mail addresses are published: the source printed them beside the very story we
    republish, and RSS has no other way to name an author in ``<author>``."""
    name = " ".join((author.name or "").split()) or None
    if name and repair:
        name = repair_text(name)
    email = "".join((author.email or "").split()) or None
    url = safe_url(author.url)
    if not name and not email and not url:
        return None
    return Person(name=name, email=email, url=url)


def build_entries(
    clusters: Sequence[ClusterView],
    contents: Mapping[int, ItemView],
    feeds: Mapping[int, FeedView],
    site: str,
    cleaning: Cleaning,
) -> list[Entry]:
    """One entry per cluster whose canonical item is in ``contents`` (read with its
    content), newest first publication first."""
    entries = []
    for cluster in clusters:
        canonical = contents.get(cluster.canonical_item_id or -1)
        if canonical is None:  # a cluster caught between two writes: skip it this time
            continue
        feed = feeds.get(canonical.feed_id)
        copies = tuple(
            Copy(m, feed_label(feeds.get(m.feed_id), m.feed_url))
            for m in cluster.members
            if m.id != canonical.id
        )
        published, updated = story_dates(cluster, canonical)
        entries.append(
            Entry(
                cluster=cluster,
                canonical=canonical,
                title=story_title(cluster, canonical, cleaning),
                content=published_content(canonical, cleaning),
                summary=published_summary(canonical, cleaning),
                authors=story_authors(cluster, canonical, cleaning),
                published=published,
                updated=updated,
                source=feed_label(feed, canonical.feed_url),
                source_url=safe_url(feed.fetch_url if feed else None),
                copies=copies,
                page_url=f"{site}/clusters/{cluster.id}",
            )
        )
    entries.sort(key=lambda e: (e.published, e.cluster.id), reverse=True)
    return entries
