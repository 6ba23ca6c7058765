"""Immutable values that travel between the steps of the pipeline.

Names follow the direction of flow: ``FeedToPoll`` comes out of storage and goes to
fetch, ``FetchResult`` goes from fetch to parse, ``ParsedEntry`` from parse to
clean, ``CleanItem`` from clean to fingerprint/dedup/storage.  ``*View`` values
come out of storage for the CLI and the web face.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class FeedSpec:
    """A feed as the user configured it."""

    url: str
    name: str | None = None
    group: str | None = None
    interval: float | None = None
    """Seconds between polls; None means the global ``polling.interval``."""
    priority: int = 0
    """Higher wins when choosing a cluster's canonical item."""
    clean: bool = True
    """False: the published feeds carry this feed's items as the source wrote them (no
    boilerplate, title-affix or text-repair cleaning; still sanitised)."""
    dedup: bool = True
    """False: this feed's items are never joined with other items (nor others with them):
    each is a story of its own in every output."""


@dataclass(frozen=True)
class FeedToPoll:
    """A feed as storage hands it to the fetcher."""

    id: int
    url: str
    """The URL as configured (the feed's identity)."""
    fetch_url: str
    """Where to fetch it now (differs from ``url`` after a permanent redirect)."""
    etag: str | None = None
    last_modified: str | None = None
    error_count: int = 0
    """Consecutive failures so far (for backoff)."""
    interval: float | None = None
    """Seconds between polls when configured for this feed (else ``polling.interval``)."""
    due: datetime | None = None
    """When it was due (its stored next check; None: never polled)."""
    last_checked: datetime | None = None
    """When a fetch of it was last recorded (whatever its outcome)."""
    origin: str = "config"
    """Where its URL came from: ``config`` (the config file), ``cli`` (``feeds add``),
    ``opml`` (an OPML import) or ``web`` (the web face or API).  Feeds from the last two
    are held to the fetch policy's public-address rule from their first hop."""


@dataclass(frozen=True)
class FetchResult:
    """What one fetch produced. ``body`` is None when the server said 304."""

    url: str
    final_url: str
    status: int
    body: bytes | None
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.body is None


@dataclass(frozen=True)
class Person:
    """An author as the feed gives one: any of name, e-mail address and URL."""

    name: str | None = None
    email: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ParsedEntry:
    """One entry of a feed document, format-independent, before cleaning."""

    source_id: str | None
    """The entry id as the source wrote it (RSS guid, Atom id, JSON Feed id)."""
    link: str | None
    title: str | None
    author: str | None
    published: datetime | None
    updated: datetime | None
    content_html: str
    """The full text: of the feed's texts (content, summary/description) the one that says
    most, by the length of its text, then HTML before plain text (fingerprinted and shown)."""
    has_full_content: bool
    """False when the feed only gave a summary/description, or when its content says less
    than its summary (the summary is then ``content_html``)."""
    summary_html: str = ""
    """The feed's other, shorter text when it gave two that differ (a summary beside the
    content, or a teaser content beside a longer description); empty otherwise."""
    authors: tuple[Person, ...] = ()
    """The entry's authors by the format's rules (the entry's own, else an Atom entry's
    ``<source>``'s, else the feed's); ``author`` is their display form."""


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    link: str | None
    entries: tuple[ParsedEntry, ...]
    warning: str | None = None
    """A survivable problem the parser noticed (e.g. a wrong declared encoding, JSON Feed
    values of the wrong type that were dropped); stored as the feed's note."""
    ttl_minutes: int | None = None
    """RSS ``<ttl>``: minutes the publisher asks readers to wait between polls."""


@dataclass(frozen=True)
class CleanItem:
    """An entry ready to store and fingerprint."""

    entry_id: str
    """Identity within the feed: source id, else link, else hash of title+content."""
    guid: str | None
    link: str | None
    canonical_link: str | None
    title: str | None
    author: str | None
    published: datetime | None
    updated: datetime | None
    content_html: str
    text: str
    """Readable plain text, blocks separated by newlines (display and fingerprint source)."""
    is_summary: bool
    revision: str
    """Hash of everything the source sent for this entry; a change means an edit."""
    summary_html: str = ""
    """The feed's shorter text beside ``content_html`` (:attr:`ParsedEntry.summary_html`)."""
    authors: tuple[Person, ...] = ()
    """The entry's authors with their e-mail addresses and URLs (:attr:`ParsedEntry.authors`);
    ``author`` is their display form."""


@dataclass(frozen=True)
class FeedView:
    id: int
    url: str
    fetch_url: str
    name: str | None
    title: str | None
    group: str | None
    priority: int
    disabled: bool
    etag: str | None
    last_modified: str | None
    last_checked: datetime | None
    last_success: datetime | None
    last_error: str | None
    error_count: int
    next_check: datetime | None
    item_count: int = 0
    interval: float | None = None
    """Seconds between polls set for this feed (None: ``polling.interval``)."""
    origin: str = "config"
    """Where its URL came from (:attr:`FeedToPoll.origin`)."""

    @property
    def shown_name(self) -> str:
        """What tables call the feed: its configured name, else its own title, else its URL."""
        return self.name or self.title or self.url


@dataclass(frozen=True)
class FeedChanges:
    """What ``feeds edit`` (or a web form) changes on a stored feed; None leaves a setting
    as it is."""

    name: str | None = None
    """The new name; "" removes it (the feed's own title shows instead)."""
    group: str | None = None
    """The new group; "" takes the feed out of its group."""
    priority: int | None = None
    interval: float | None = None
    """Seconds between polls; 0 goes back to ``polling.interval``."""
    enabled: bool | None = None
    """True polls a disabled feed again (from its configured URL, at once); False stops
    polling it (its items stay)."""


@dataclass(frozen=True)
class ItemView:
    id: int
    feed_id: int
    feed_url: str
    guid: str
    """The entry id as in the source (falls back to the derived identity)."""
    link: str | None
    canonical_link: str | None
    title: str | None
    author: str | None
    published: datetime | None
    updated: datetime | None
    is_summary: bool
    cluster_id: int | None
    canonical: bool
    method: str | None
    score: float | None
    content_html: str = ""
    text: str = ""
    summary_html: str = ""
    """The source's shorter text beside the content, as stored, with or without the content
    (empty: it gave one text)."""
    authors: tuple[Person, ...] = ()
    """Structured authors; for an item stored before they were kept, its ``author`` as a
    name."""


@dataclass(frozen=True)
class ClusterView:
    id: int
    canonical_item_id: int | None
    size: int
    feed_count: int
    created: datetime
    updated: datetime
    members: tuple[ItemView, ...] = ()
    note: str | None = None
    """Why the cluster looks as it does (e.g. the reason for a merge)."""


@dataclass(frozen=True)
class SearchHit:
    """A story that matched a search: its cluster and canonical item, and where it matched."""

    cluster_id: int
    size: int
    canonical_item_id: int
    title: str | None
    """The canonical item's title, link, feed and publication time."""
    link: str | None
    feed_id: int
    feed_url: str
    published: datetime | None
    matched_item_id: int
    """The story's item that matched best (the canonical one or another copy)."""
    snippet: tuple[tuple[str, bool], ...] = ()
    """Text of the matched item around its matches, as ``(text, is_match)`` parts."""

    @property
    def snippet_text(self) -> str:
        return "".join(part for part, _ in self.snippet)


@dataclass(frozen=True)
class PollOutcome:
    """One line of a poll report: what happened to one feed."""

    feed_url: str
    status: str
    """``ok``, ``not-modified`` or ``error``."""
    new: int = 0
    updated: int = 0
    error: str | None = None
    seconds: float = 0.0
    skipped: int = 0
    """Entries the database refused even after repair (the rest were stored)."""


@dataclass(frozen=True)
class SavedItem:
    """What storage did with one clean item."""

    item_id: int
    status: str
    """``new``, ``updated`` or ``unchanged``."""


@dataclass(frozen=True)
class SkippedItem:
    """An entry of a document the database refused even after repair: not stored."""

    index: int
    """Its place among the items handed to storage."""
    entry_id: str
    reason: str
    """The database's refusal, in one line."""


class SavedItems(list[SavedItem]):
    """What storage did with a document's items, in their order, less those it left out:
    the ``skipped`` ones and the ``expired`` ones (a list, so callers that only store
    keep reading it as one)."""

    def __init__(
        self,
        saved: Iterable[SavedItem] = (),
        skipped: Iterable[SkippedItem] = (),
        expired: Iterable[int] = (),
    ) -> None:
        super().__init__(saved)
        self.skipped: tuple[SkippedItem, ...] = tuple(skipped)
        self.expired: tuple[int, ...] = tuple(expired)
        """The places of new entries published before retention's cutoff: not stored
        (retention would drop them at once, and their feed would bring them back)."""

    @property
    def left_out(self) -> frozenset[int]:
        """The places of the items not stored among those handed to storage."""
        return frozenset(s.index for s in self.skipped) | frozenset(self.expired)


@dataclass(frozen=True)
class PruneReport:
    """What retention dropped (or, in a dry run, would drop)."""

    items: int
    clusters: int
    reader_marks: int
    """Read and starred marks of those items."""
    corrections: int
    """Corrections that named one of those items."""
    item_ids: tuple[int, ...] = ()
    """The items dropped (empty in a dry run): the decider forgets them."""
    last_cluster_id: int | None = None
    """The highest id of the clusters dropped (a prune goes a batch at a time, in order)."""
    evidence: int = 0
    """Boilerplate evidence rows forgotten: blocks a feed counted once, long ago."""

    def __add__(self, other: PruneReport) -> PruneReport:
        return PruneReport(
            self.items + other.items,
            self.clusters + other.clusters,
            self.reader_marks + other.reader_marks,
            self.corrections + other.corrections,
            self.item_ids + other.item_ids,
            other.last_cluster_id or self.last_cluster_id,
            self.evidence + other.evidence,
        )


@dataclass(frozen=True)
class IndexedItem:
    """What the dedup engine knows of a stored item."""

    item_id: int
    feed_id: int
    priority: int
    sort_time: datetime
    is_summary: bool
    canonical_link: str | None
    content_hash: str | None
    fingerprint: bytes | None
    first_seen: datetime | None = None
    cluster_id: int | None = None
    method: str | None = None
    score: float | None = None
    matched_item_id: int | None = None
    dedup: bool = True
    """Its feed's setting (``feeds[].dedup``)."""

    def assignment(self) -> Assignment | None:
        """The stored decision (None: not decided yet)."""
        if self.cluster_id is None:
            return None
        return Assignment(
            self.item_id,
            self.cluster_id,
            self.method or "single",
            self.score if self.score is not None else 1.0,
            self.matched_item_id,
        )


@dataclass(frozen=True, slots=True)
class Assignment:
    """An item's cluster, with the evidence: method, score and the member it matched."""

    item_id: int
    cluster_id: int
    method: str
    """One of :class:`aggregator.dedup.rules.Method` (stored as its text)."""
    score: float
    matched_item_id: int | None = None


@dataclass(frozen=True, slots=True)
class ClusterState:
    cluster_id: int
    canonical_item_id: int
    size: int
    feed_count: int
    note: str | None = None


@dataclass(frozen=True)
class CorrectionRecord:
    """A stored user correction: ``split`` one item out, or ``merge`` two items' clusters."""

    id: int
    kind: str
    item_id: int
    other_item_id: int | None = None


@dataclass(frozen=True)
class ClusterChanges:
    """Everything one decision changed, written by storage in one transaction."""

    assignments: tuple[Assignment, ...] = ()
    clusters: tuple[ClusterState, ...] = ()
    deleted_clusters: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.assignments or self.clusters or self.deleted_clusters)
