"""Items: saving the entries of a feed document and reading them back."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from aggregator.storage.base import StorageBase, _chunks, _storage_errors
from aggregator.storage.models import Cluster, Feed, Item, Membership, utcnow
from aggregator.storage.rows import _item_view
from aggregator.types import CleanItem, ItemView, SavedItem


class ItemsMixin(StorageBase):
    """Insert new entries, update edited ones; item texts and item lists."""

    @_storage_errors("save items")
    def save_items(self, feed_id: int, items: Sequence[CleanItem]) -> list[SavedItem]:
        """Insert new entries and update edited ones, in one transaction.

        An entry is identified by ``(feed, entry_id)``; a repeated entry whose
        ``revision`` is unchanged is left alone, so re-polling never duplicates.
        """
        now = utcnow()
        # One bad value must not cost the whole document (PostgreSQL refuses what SQLite
        # takes): each item is made storable on its own, the same way on both databases.
        items = [storable_item(item) for item in items]
        with self._tx() as s:
            ids = [item.entry_id for item in items]
            existing: dict[str, Item] = {}
            for chunk in _chunks(ids, 500):
                existing.update(
                    (row.entry_id, row)
                    for row in s.scalars(
                        select(Item).where(Item.feed_id == feed_id, Item.entry_id.in_(chunk))
                    )
                )
            # New entries go in as one executemany INSERT … RETURNING id (ORM objects
            # cost twice as much, and a new feed brings hundreds at once).
            fresh: dict[str, dict[str, Any]] = {}
            outcome: list[tuple[str, Item | str]] = []  # (status, row or entry_id of a fresh one)
            for item in items:
                row = existing.get(item.entry_id)
                pending = fresh.get(item.entry_id)
                if pending is not None:  # the feed repeats an entry: the last copy wins
                    status = "unchanged" if pending["revision"] == item.revision else "updated"
                    pending.update(_item_values(item, now))
                    outcome.append((status, item.entry_id))
                elif row is None:
                    fresh[item.entry_id] = {
                        "feed_id": feed_id,
                        "entry_id": item.entry_id,
                        "first_seen": now,
                        **_item_values(item, now),
                    }
                    outcome.append(("new", item.entry_id))
                elif row.revision == item.revision:
                    outcome.append(("unchanged", row))
                elif _reads_the_same(row, item):
                    # Only the markup changed (a CDN rewrote image URLs, or the document
                    # was read by the other parser path): keep the new HTML, but the
                    # fingerprint and the cluster, which come from the text, still hold.
                    _fill_item(row, item, row.first_seen)
                    outcome.append(("unchanged", row))
                else:
                    _fill_item(row, item, row.first_seen)
                    row.fingerprint = row.fingerprint_scheme = None
                    outcome.append(("updated", row))
            new_ids: dict[str, int] = {}
            if fresh:
                rows = list(fresh.values())
                returned = (
                    s.execute(insert(Item).returning(Item.id, sort_by_parameter_order=True), rows)
                    .scalars()
                    .all()
                )
                new_ids = {
                    row["entry_id"]: item_id for row, item_id in zip(rows, returned, strict=True)
                }
            s.flush()
            return [
                SavedItem(item_id=new_ids[ref] if isinstance(ref, str) else ref.id, status=status)
                for status, ref in outcome
            ]

    @_storage_errors("read item texts")
    def item_texts(self, item_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
        """``item_id → (feed_id, text)`` for fingerprinting."""
        out: dict[int, tuple[int, str]] = {}
        with self._tx() as s:
            for chunk in _chunks(list(item_ids), 500):
                for row in s.execute(
                    select(Item.id, Item.feed_id, Item.text).where(Item.id.in_(chunk))
                ):
                    out[row.id] = (row.feed_id, row.text)
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
_SURROGATE = re.compile("[\ud800-\udfff]")
_HASHED = "urn:sha256:"


def storable_text(value: str | None) -> str | None:
    """``value`` as both databases store it: without NUL characters (PostgreSQL text
    cannot hold them) and with lone surrogates (unencodable as UTF-8) replaced."""
    if not value:
        return value
    if "\x00" in value:
        value = value.replace("\x00", "")
    if _SURROGATE.search(value):
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
    )
    return item if repaired == item else repaired


def _reads_the_same(row: Item, item: CleanItem) -> bool:
    """Everything a reader sees, and everything deduplication uses, is unchanged."""
    return (
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
        "revision": item.revision,
    }


def _fill_item(row: Item, item: CleanItem, first_seen: datetime) -> None:
    for name, value in _item_values(item, first_seen).items():
        setattr(row, name, value)
