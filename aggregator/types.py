"""Immutable values that travel between the steps of the pipeline.

Names follow the direction of flow: ``FeedToPoll`` comes out of storage and goes to
fetch, ``FetchResult`` goes from fetch to parse, ``ParsedEntry`` from parse to
clean, ``CleanItem`` from clean to fingerprint/dedup/storage.  ``*View`` values
come out of storage for the CLI and the web face.
"""

from __future__ import annotations

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
class PollOutcome:
    """One line of a poll report: what happened to one feed."""

    feed_url: str
    status: str
    """``ok``, ``not-modified`` or ``error``."""
    new: int = 0
    updated: int = 0
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class SavedItem:
    """What storage did with one clean item."""

    item_id: int
    status: str
    """``new``, ``updated`` or ``unchanged``."""


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
