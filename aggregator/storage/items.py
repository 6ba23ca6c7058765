"""Items: saving the entries of a feed document and reading them back."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from aggregator.storage.base import StorageBase, _chunks, _storage_errors, savepoint
from aggregator.storage.models import Cluster, Feed, Item, Membership, utcnow
from aggregator.storage.rows import _item_view
from aggregator.types import CleanItem, ItemView, Person, SavedItem, SavedItems, SkippedItem


class ItemsMixin(StorageBase):
    """Insert new entries, update edited ones; item texts and item lists."""

    @_storage_errors("save items")
    def save_items(
        self, feed_id: int, items: Sequence[CleanItem], expired_before: datetime | None = None
    ) -> SavedItems:
        """Insert new entries and update edited ones, in one transaction.

        An entry is identified by ``(feed, entry_id)``; a repeated entry whose
        ``revision`` is unchanged is left alone, so re-polling never duplicates.  An entry
        the database refuses even after repair is skipped (``SavedItems.skipped``) and
        the rest are stored.  With ``expired_before`` (retention), a new entry published
        before it is not stored (``SavedItems.expired``).
        """
        now = utcnow()
        # One bad value must not cost the whole document (PostgreSQL refuses what SQLite
        # takes): each item is made storable on its own, the same way on both databases.
        items = [storable_item(item) for item in items]
        with self._tx() as s:
            existing = _stored_entries(s, feed_id, [item.entry_id for item in items])
            reissued = _reissued_entries(
                s, feed_id, [item for item in items if item.entry_id not in existing]
            )
            # New entries go in as one executemany INSERT … RETURNING id (ORM objects
            # cost twice as much, and a new feed brings hundreds at once).
            fresh: dict[str, dict[str, Any]] = {}
            edits: dict[str, dict[str, Any]] = {}
            outcome: list[tuple[str, str]] = []  # (status, entry_id), in the items' order
            for item in items:
                row = existing.get(item.entry_id)
                pending = fresh.get(item.entry_id) or edits.get(item.entry_id)
                if pending is not None:  # the feed repeats an entry: the last copy wins
                    status = "unchanged" if pending["revision"] == item.revision else "updated"
                    pending.update(_item_values(item, pending["first_seen"]))
                    if row is not None and status == "updated" and "fingerprint" not in pending:
                        pending.update(fingerprint=None, fingerprint_scheme=None)
                elif row is None and item.entry_id in reissued:
                    status = "unchanged"  # an item the feed carries already, under a new id
                elif row is None and _published_before(item, expired_before):
                    status = "expired"
                elif row is None:
                    fresh[item.entry_id] = {
                        "feed_id": feed_id,
                        "entry_id": item.entry_id,
                        "first_seen": now,
                        **_item_values(item, now),
                    }
                    status = "new"
                elif row.revision == item.revision:
                    status = "unchanged"
                elif _reads_the_same(row, item):
                    # Only the markup changed (a CDN rewrote image URLs, or the document
                    # was read by the other parser path): keep the new HTML, but the
                    # fingerprint and the cluster, which come from the text, still hold.
                    edits[item.entry_id] = {
                        "id": row.id,
                        "first_seen": row.first_seen,
                        **_item_values(item, row.first_seen),
                    }
                    status = "unchanged"
                else:
                    edits[item.entry_id] = {
                        "id": row.id,
                        "first_seen": row.first_seen,
                        **_item_values(item, row.first_seen),
                        "fingerprint": None,
                        "fingerprint_scheme": None,
                    }
                    status = "updated"
                outcome.append((status, item.entry_id))
            new_ids, refused = _write_entries(s, fresh, edits)
            ids = {entry_id: row.id for entry_id, row in existing.items()} | reissued | new_ids
            saved: list[SavedItem] = []
            skipped: list[SkippedItem] = []
            expired: list[int] = []
            for index, (status, entry_id) in enumerate(outcome):
                if entry_id in refused:
                    skipped.append(SkippedItem(index, entry_id, refused[entry_id]))
                elif status == "expired":
                    expired.append(index)
                else:
                    saved.append(SavedItem(item_id=ids[entry_id], status=status))
            return SavedItems(saved, skipped, expired)

    @_storage_errors("read item texts")
    def item_texts(self, item_ids: Sequence[int]) -> dict[int, tuple[int, str, str | None]]:
        """``item_id → (feed_id, text, title)`` for fingerprinting."""
        out: dict[int, tuple[int, str, str | None]] = {}
        with self._tx() as s:
            for chunk in _chunks(list(item_ids), 500):
                for row in s.execute(
                    select(Item.id, Item.feed_id, Item.text, Item.title).where(Item.id.in_(chunk))
                ):
                    out[row.id] = (row.feed_id, row.text, row.title)
        return out

    @_storage_errors("read item summaries")
    def item_summaries(self, item_ids: Sequence[int]) -> dict[int, str]:
        """``item_id → summary HTML`` (as the source sent it) of the items that have one:
        the shorter of the two texts a source gave, beside the content."""
        out: dict[int, str] = {}
        with self._tx() as s:
            for chunk in _chunks(list(item_ids), 500):
                out.update(
                    (item_id, summary)
                    for item_id, summary in s.execute(
                        select(Item.id, Item.summary_html).where(
                            Item.id.in_(chunk), Item.summary_html != ""
                        )
                    )
                )
        return out

    @_storage_errors("read item feeds")
    def feeds_of(self, item_ids: Sequence[int]) -> dict[int, int]:
        """``item_id → feed_id``."""
        out: dict[int, int] = {}
        with self._tx() as s:
            for chunk in _chunks(list(item_ids), 500):
                out.update(
                    (item_id, feed_id)
                    for item_id, feed_id in s.execute(
                        select(Item.id, Item.feed_id).where(Item.id.in_(chunk))
                    )
                )
        return out

    @_storage_errors("list items")
    def list_items(
        self,
        *,
        feed_url: str | None = None,
        cluster_id: int | None = None,
        limit: int | None = None,
        with_content: bool = False,
        item_ids: Sequence[int] | None = None,
    ) -> list[ItemView]:
        with self._tx() as s:
            query = (
                select(Item, Feed.url, Membership, Cluster.canonical_item_id)
                .join(Feed, Feed.id == Item.feed_id)
                .outerjoin(Membership, Membership.item_id == Item.id)
                .outerjoin(Cluster, Cluster.id == Membership.cluster_id)
                .order_by(Item.sort_time.desc(), Item.id.desc())
            )
            if feed_url is not None:
                query = query.where(Feed.url == feed_url)
            if cluster_id is not None:
                query = query.where(Membership.cluster_id == cluster_id)
            if item_ids is not None:
                query = query.where(Item.id.in_(list(item_ids)))
            if limit is not None:
                query = query.limit(limit)
            return [
                _item_view(item, url, member, canonical, with_content)
                for item, url, member, canonical in s.execute(query)
            ]


MAX_KEY_BYTES = 2000
"""Longest value of an indexed text column (entry id, canonical link), in UTF-8 bytes:
PostgreSQL's btree refuses an index entry over ~2,700 bytes, and refuses the whole
statement with it."""
REFUSAL_CHARS = 160
"""Longest reason kept for an entry the database refused (it is shown on the feed)."""
_SURROGATE = re.compile("[\ud800-\udfff]")
_HASHED = "urn:sha256:"


def storable_text(value: str | None) -> str | None:
    """``value`` as both databases store it: without NUL characters (PostgreSQL text
    cannot hold them) and with lone surrogates (unencodable as UTF-8) replaced."""
    if not value:
        return value
    if "\x00" in value:
        value = value.replace("\x00", "")
    # isascii() is a flag of the string, not a scan: most values skip the search.
    if not value.isascii() and _SURROGATE.search(value):
        value = _SURROGATE.sub("\ufffd", value)
    return value


def _storable_key(value: str | None) -> str | None:
    """An indexed value within the index's limit: an over-long one becomes its hash, which
    still compares equal exactly when the values do (the same id, the same link)."""
    value = storable_text(value)
    if value is None or len(value.encode("utf-8")) <= MAX_KEY_BYTES:
        return value
    return _HASHED + hashlib.sha256(value.encode("utf-8")).hexdigest()


def storable_item(item: CleanItem) -> CleanItem:
    """``item`` repaired where a database would refuse it: NULs removed from every text,
    an over-long entry id or canonical link hashed (the link itself is kept whole)."""
    repaired = dataclasses.replace(
        item,
        entry_id=_storable_key(item.entry_id) or "",
        guid=storable_text(item.guid),
        link=storable_text(item.link),
        canonical_link=_storable_key(item.canonical_link),
        title=storable_text(item.title),
        author=storable_text(item.author),
        content_html=storable_text(item.content_html) or "",
        text=storable_text(item.text) or "",
        summary_html=storable_text(item.summary_html) or "",
        authors=tuple(
            Person(storable_text(p.name), storable_text(p.email), storable_text(p.url))
            for p in item.authors
        ),
    )
    return item if repaired == item else repaired


_STORED_COLUMNS = (
    Item.id,
    Item.entry_id,
    Item.revision,
    Item.first_seen,
    Item.text,
    Item.title,
    Item.link,
    Item.canonical_link,
    Item.author,
    Item.published,
    Item.updated,
    Item.is_summary,
)
"""What an update compares with: plain rows, not ORM objects (nothing to flush, nothing
stale left in the session when a write is rolled back)."""


_StoredEntry = Row[*tuple[Any, ...]]
"""A row of :data:`_STORED_COLUMNS`."""


def _stored_entries(s: Session, feed_id: int, entry_ids: Sequence[str]) -> dict[str, _StoredEntry]:
    existing: dict[str, _StoredEntry] = {}
    for chunk in _chunks(entry_ids, 500):
        existing.update(
            (row.entry_id, row)
            for row in s.execute(
                select(*_STORED_COLUMNS).where(Item.feed_id == feed_id, Item.entry_id.in_(chunk))
            )
        )
    return existing


REISSUE_MIN_WORDS = 8
"""Shorter texts (title-only items) are not enough to call two entries one item."""


def _reissued_entries(s: Session, feed_id: int, new: Sequence[CleanItem]) -> dict[str, int]:
    """New entries that repeat an item of the same feed word for word — title and text —
    under another id (a feed that makes up new guids at every poll): ``entry_id → the
    stored item's id``.  Such an entry is that item, not one more row at every poll."""
    wanted = {
        (item.title, item.text): item.entry_id
        for item in new
        # Split no further than needed to know: texts run to thousands of words.
        if item.title and len(item.text.split(maxsplit=REISSUE_MIN_WORDS)) >= REISSUE_MIN_WORDS
    }
    if not wanted:
        return {}
    out: dict[str, int] = {}
    titles = sorted({title for title, _ in wanted if title is not None})
    for chunk in _chunks(titles, 500):
        for row in s.execute(
            select(Item.id, Item.title, Item.text)
            .where(Item.feed_id == feed_id, Item.title.in_(chunk))
            .order_by(Item.id)
        ):
            entry_id = wanted.get((row.title, row.text))
            if entry_id is not None:
                out.setdefault(entry_id, row.id)
    return out


def _write_entries(
    s: Session, fresh: dict[str, dict[str, Any]], edits: dict[str, dict[str, Any]]
) -> tuple[dict[str, int], dict[str, str]]:
    """Insert the new entries and update the edited ones; return the new ids by entry id,
    and the entries the database refused with its reason.

    All at once under one savepoint (the common case costs one SAVEPOINT more).  Only when
    that fails are they written again in halves, each under a savepoint of its own, and
    the half that fails in halves again, down to the entries refused one by one: the rest
    of the document is stored, at a few times the cost of storing it, not one statement
    per entry."""
    found: dict[str, int] = {}
    refused: dict[str, str] = {}
    pending = [(list(fresh.items()), list(edits.items()))]
    while pending:
        inserts, updates = pending.pop()
        if not inserts and not updates:
            continue
        try:
            with savepoint(s):
                new_ids = _insert(s, [values for _, values in inserts])
                _update(s, [values for _, values in updates])
            found.update(new_ids)
        except SQLAlchemyError as exc:
            if len(inserts) + len(updates) == 1:
                ((entry_id, _),) = inserts or updates
                refused[entry_id] = refusal(exc)
                continue
            # Halve the larger side and try the halves in turn: a refused entry costs one
            # failed half per level, and every other entry is written once.
            if len(inserts) >= len(updates):
                middle = len(inserts) // 2
                pending += [(inserts[middle:], updates), (inserts[:middle], [])]
            else:
                middle = len(updates) // 2
                pending += [(inserts, updates[middle:]), ([], updates[:middle])]
    return found, refused


def _insert(s: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    if not rows:
        return {}
    returned = (
        s.execute(insert(Item).returning(Item.id, sort_by_parameter_order=True), rows)
        .scalars()
        .all()
    )
    return {row["entry_id"]: item_id for row, item_id in zip(rows, returned, strict=True)}


def _update(s: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        s.execute(update(Item), rows)


def refusal(exc: SQLAlchemyError) -> str:
    """A database's refusal in one short line (the driver's first line, without the
    statement and the values SQLAlchemy appends)."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).splitlines() or [""])[0].strip()
    text = f"{cause.__class__.__name__}: {first}" if first else cause.__class__.__name__
    return text if len(text) <= REFUSAL_CHARS else text[: REFUSAL_CHARS - 1] + "…"


def _published_before(item: CleanItem, cutoff: datetime | None) -> bool:
    """The entry says it was published (or updated) before ``cutoff``; one without a date
    is as new as its arrival."""
    when = item.published or item.updated
    return cutoff is not None and when is not None and when < cutoff


def _reads_the_same(row: _StoredEntry, item: CleanItem) -> bool:
    """Everything a reader sees, and everything deduplication uses, is unchanged."""
    return bool(
        row.text == item.text
        and row.title == item.title
        and row.link == item.link
        and row.canonical_link == item.canonical_link
        and row.author == item.author
        and row.published == item.published
        and row.updated == item.updated
        and row.is_summary == item.is_summary
    )


def _item_values(item: CleanItem, first_seen: datetime) -> dict[str, Any]:
    """The columns an entry sets (all but ids, first sight and the fingerprint)."""
    return {
        "guid": item.guid,
        "link": item.link,
        "canonical_link": item.canonical_link,
        "title": item.title,
        "author": item.author,
        "published": item.published,
        "updated": item.updated,
        # A date in the future (clock skew, hostile feed) must not pin the item in the window.
        "sort_time": min(item.published or item.updated or first_seen, first_seen),
        "content_html": item.content_html,
        "text": item.text,
        "is_summary": item.is_summary,
        "summary_html": item.summary_html,
        "authors": _authors_value(item.authors),
        "revision": item.revision,
    }


def _authors_value(authors: Sequence[Person]) -> list[dict[str, str]] | None:
    """The ``authors`` column's value: each author's given parts (see :class:`Item`)."""
    values = [
        {
            key: value
            for key, value in (("name", p.name), ("email", p.email), ("url", p.url))
            if value
        }
        for p in authors
    ]
    return [v for v in values if v] or None
