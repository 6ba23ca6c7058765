"""Dedup evidence: the index the dedup engine loads, stored fingerprints and their
schemes, and the boilerplate block counts of each feed."""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased

from aggregator.storage.base import StorageBase, _chunks, _storage_errors
from aggregator.storage.decisions import check_fence
from aggregator.storage.models import BlockCount, Feed, Item, Membership
from aggregator.types import IndexedItem

RELEARN_SETTING = "boilerplate-relearn"
FORGET_BATCH = 5_000
"""Evidence rows forgotten per transaction."""


class EvidenceMixin(StorageBase):
    """What deduplication reads and learns: indexed items, fingerprints, block counts."""

    def indexed_items(self, since: datetime | None = None) -> list[IndexedItem]:
        """Items the dedup engine must know: those in the window (all when ``since`` is None),
        every member of a cluster that has one of them, and items not yet decided."""
        return [item for page in self.indexed_item_pages(since) for item in page]

    def indexed_item_pages(
        self, since: datetime | None = None, page: int = 5000
    ) -> Iterator[list[IndexedItem]]:
        """:meth:`indexed_items` a page at a time, in the same order: a start with a large
        window never holds every stored fingerprint at once.

        With a window, the older members of the window's clusters are read in one query and
        merged into the pages of the rest: asking for them in every page's query made the
        database find the window's clusters once per page, quadratic in the window."""
        if since is None:
            yield from self._keyset_pages(None, page)
            return
        older = iter(self._older_members(since))
        merged = heapq.merge(
            older,
            (item for rows in self._keyset_pages(since, page) for item in rows),
            key=lambda item: (item.sort_time, item.item_id),
        )
        while rows := list(itertools.islice(merged, page)):
            yield rows

    def _keyset_pages(self, since: datetime | None, page: int) -> Iterator[list[IndexedItem]]:
        after: tuple[datetime, int] | None = None
        while True:
            rows = self._indexed_page(since, after, page)
            if not rows:
                return
            yield rows
            after = (rows[-1].sort_time, rows[-1].item_id)

    @_storage_errors("load the dedup index")
    def _indexed_page(
        self, since: datetime | None, after: tuple[datetime, int] | None, page: int
    ) -> list[IndexedItem]:
        """Items in the window (all when ``since`` is None) and undecided ones, after ``after``."""
        with self._tx() as s:
            query = _indexed_query()
            if since is not None:
                query = query.where(
                    or_(
                        Item.sort_time >= since,
                        Item.first_seen >= since,
                        Membership.item_id.is_(None),
                    )
                )
            if after is not None:
                query = query.where(
                    or_(
                        Item.sort_time > after[0],
                        and_(Item.sort_time == after[0], Item.id > after[1]),
                    )
                )
            return [_indexed(r) for r in s.execute(query.limit(page))]

    @_storage_errors("load the dedup index")
    def _older_members(self, since: datetime) -> list[IndexedItem]:
        """Decided items older than the window whose cluster has a member in it."""
        with self._tx() as s:
            recent = (
                select(Membership.cluster_id)
                .join(Item, Item.id == Membership.item_id)
                .where(or_(Item.sort_time >= since, Item.first_seen >= since))
            )
            query = _indexed_query().where(
                Item.sort_time < since,
                Item.first_seen < since,
                Membership.cluster_id.in_(recent),
            )
            return [_indexed(r) for r in s.execute(query)]

    @_storage_errors("load items to decide")
    def indexed_items_by_id(self, item_ids: Sequence[int]) -> list[IndexedItem]:
        out: list[IndexedItem] = []
        with self._tx() as s:
            for chunk in _chunks(list(item_ids), 500):
                out.extend(
                    _indexed(r) for r in s.execute(_indexed_query().where(Item.id.in_(chunk)))
                )
        return out

    @_storage_errors("read stored fingerprints")
    def fingerprint_blobs(self, item_ids: Collection[int], scheme: str) -> dict[int, bytes]:
        """``item_id → fingerprint`` of these items, for those stored with ``scheme``."""
        out: dict[int, bytes] = {}
        with self._tx() as s:
            for chunk in _chunks(list(item_ids), 500):
                out.update(
                    (item_id, blob)
                    for item_id, blob in s.execute(
                        select(Item.id, Item.fingerprint).where(
                            Item.id.in_(chunk), Item.fingerprint_scheme == scheme
                        )
                    )
                    if blob is not None
                )
        return out

    @_storage_errors("read the fingerprint scheme")
    def fingerprint_schemes(self) -> dict[str | None, int]:
        with self._tx() as s:
            return {
                scheme: n
                for scheme, n in s.execute(
                    select(Item.fingerprint_scheme, func.count()).group_by(Item.fingerprint_scheme)
                )
            }

    # -- boilerplate evidence ---------------------------------------------------

    @_storage_errors("read boilerplate evidence")
    def relisted(self, item_ids: Sequence[int]) -> set[int]:
        """Those of the items whose link (canonical) and text an item of another feed
        stored before them has: one item listed again, as a site's category feed repeats
        its main feed's items, not one more item its own feed carried.  Their blocks are no
        independent evidence that a block recurs (two listings of one story and of its
        update would make its paragraphs a network footer).  A partner's copy under the
        origin's link carries its own footer, so its text differs and it counts: that
        footer is what its feed must learn."""
        earlier = aliased(Item)
        out: set[int] = set()
        with self._tx() as s:
            for chunk in _chunks(list(item_ids), 500):
                out.update(
                    s.scalars(
                        select(Item.id).where(
                            Item.id.in_(chunk),
                            Item.canonical_link.is_not(None),
                            exists().where(
                                earlier.canonical_link == Item.canonical_link,
                                earlier.feed_id != Item.feed_id,
                                earlier.text == Item.text,
                                earlier.id < Item.id,
                            ),
                        )
                    )
                )
        return out

    @_storage_errors("read boilerplate evidence")
    def block_counts(self, samples_from: int = 0) -> list[tuple[int, str, int, str, int]]:
        """``(feed_id, block_key, items, sample, seen_day)`` rows; the sample only on rows
        counting at least ``samples_from`` items (the fewest that can have made a block
        learned), else ``""``."""
        with self._tx() as s:
            # Plain column tuples, not ORM objects, and no sample for the tens of thousands
            # of sentences counted once: loading them all cost a start ~150 MB at its peak.
            sample = case((BlockCount.items >= samples_from, BlockCount.sample), else_="")
            return [
                (feed_id, key, items, text or "", day)
                for feed_id, key, items, text, day in s.execute(
                    select(
                        BlockCount.feed_id,
                        BlockCount.block_key,
                        BlockCount.items,
                        sample,
                        BlockCount.seen_day,
                    )
                )
            ]

    @_storage_errors("forget old boilerplate evidence")
    def forget_block_counts(
        self, below: int, before_day: int, *, dry_run: bool = False, fence: str | None = None
    ) -> int:
        """Drop (``dry_run``: count) the rows counting fewer than ``below`` items last
        counted before ``before_day``; the decider's model forgets the same ones.  With a
        ``fence``, nothing is dropped unless this process still holds the lease."""
        old = and_(BlockCount.items < below, BlockCount.seen_day < before_day)
        if dry_run:
            with self._tx() as s:
                return int(s.scalar(select(func.count()).select_from(BlockCount).where(old)) or 0)
        forgotten = 0
        while True:
            # A batch a transaction: the first forgetting after an upgrade takes nearly
            # the whole table (its rows all aged from one day), and on SQLite one long
            # delete would hold the write lock past the busy timeout of a poll beside it.
            with self._tx() as s:
                check_fence(s, fence)
                pairs = [
                    (feed_id, key)
                    for feed_id, key in s.execute(
                        select(BlockCount.feed_id, BlockCount.block_key)
                        .where(old)
                        .limit(FORGET_BATCH)
                    )
                ]
                for chunk in _chunks(pairs, 500):
                    s.execute(delete(BlockCount).where(_feed_keys(chunk)))
            forgotten += len(pairs)
            if len(pairs) < FORGET_BATCH:
                return forgotten

    @_storage_errors("read boilerplate evidence")
    def relearn_keys(self) -> set[str] | None:
        """Blocks learned whose carriers were not all decided again yet; None when no
        decider of this version has written the list (all learned blocks may be)."""
        value = self.get_setting(RELEARN_SETTING)
        return None if value is None else set(json.loads(value))

    @_storage_errors("save boilerplate evidence")
    def add_relearn_keys(self, keys: Collection[str]) -> None:
        """Add to :meth:`relearn_keys` (in the caller's unit, with the counts that learn
        them)."""
        if keys:
            with self.unit():  # the read and the write in one transaction
                known = self.relearn_keys() or set()
                self.set_setting(RELEARN_SETTING, json.dumps(sorted(known | set(keys))))

    @_storage_errors("save boilerplate evidence")
    def drop_relearn_keys(self, keys: Collection[str] | None) -> None:
        """Their carriers are decided again (None: every key, after a rebuild)."""
        with self.unit():
            left = set() if keys is None else (self.relearn_keys() or set()) - set(keys)
            self.set_setting(RELEARN_SETTING, json.dumps(sorted(left)))

    def add_block_counts(
        self, feed_id: int, increments: dict[str, tuple[int, str]], day: int
    ) -> None:
        """Add ``items`` to each ``block_key`` of a feed (``key → (items, sample)``), as
        counted on ``day``; a non-empty sample (a block just learned) is stored with the
        count."""
        self.add_block_counts_many({feed_id: increments}, day)

    @_storage_errors("save boilerplate evidence")
    def add_block_counts_many(
        self, per_feed: dict[int, dict[str, tuple[int, str]]], day: int
    ) -> None:
        """:meth:`add_block_counts` for several feeds at once: one search for the rows that
        exist, then one insert and one update in slices (a query per feed made a decision
        over new items of many feeds slow)."""
        pairs = [(feed_id, key) for feed_id, inc in per_feed.items() for key in inc]
        if not pairs:
            return
        with self._tx() as s:
            current: dict[tuple[int, str], int] = {}
            for chunk in _chunks(pairs, 500):
                for feed_id, key, items in s.execute(
                    select(BlockCount.feed_id, BlockCount.block_key, BlockCount.items).where(
                        _feed_keys(chunk)
                    )
                ):
                    current[(feed_id, key)] = items
            # executemany in slices, not an ORM object per block: a new feed brings
            # thousands, and one list of them all would only raise the memory peak.
            fresh = [pair for pair in pairs if pair not in current]
            for chunk in _chunks(fresh, 1000):
                s.execute(
                    insert(BlockCount),
                    [
                        {
                            "feed_id": feed_id,
                            "block_key": key,
                            "items": per_feed[feed_id][key][0],
                            "sample": per_feed[feed_id][key][1][:500],
                            "seen_day": day,
                        }
                        for feed_id, key in chunk
                    ],
                )
            known = [pair for pair in pairs if pair in current]
            for with_sample in (False, True):
                rows = [
                    {
                        "feed_id": feed_id,
                        "block_key": key,
                        "items": current[(feed_id, key)] + per_feed[feed_id][key][0],
                        "seen_day": day,
                        **({"sample": per_feed[feed_id][key][1][:500]} if with_sample else {}),
                    }
                    for feed_id, key in known
                    if bool(per_feed[feed_id][key][1]) == with_sample
                ]
                for chunk in _chunks(rows, 1000):
                    s.execute(update(BlockCount), chunk)


def _feed_keys(pairs: Sequence[tuple[int, str]]) -> ColumnElement[bool]:
    """``(feed_id, block_key) IN pairs`` as one ``feed_id = ? AND block_key IN (…)`` per
    feed, ORed: SQLite searches the primary key for each, where a row-value IN scanned the
    whole table for every slice (a poll's evidence grew with the table)."""
    keys: dict[int, list[str]] = {}
    for feed_id, key in pairs:
        keys.setdefault(feed_id, []).append(key)
    return or_(
        *(
            and_(BlockCount.feed_id == feed_id, BlockCount.block_key.in_(feed_keys))
            for feed_id, feed_keys in keys.items()
        )
    )


def _indexed_query() -> Any:
    return (
        select(
            Item.id,
            Item.feed_id,
            Feed.priority,
            Item.sort_time,
            Item.is_summary,
            Item.canonical_link,
            Item.content_hash,
            Item.fingerprint,
            Membership.cluster_id,
            Membership.method,
            Membership.score,
            Membership.matched_item_id,
            Item.first_seen,
            Feed.dedup,
        )
        .join(Feed, Feed.id == Item.feed_id)
        .outerjoin(Membership, Membership.item_id == Item.id)
        .order_by(Item.sort_time, Item.id)
    )


def _indexed(r: Any) -> IndexedItem:
    return IndexedItem(
        item_id=r[0],
        feed_id=r[1],
        priority=r[2],
        sort_time=r[3],
        is_summary=r[4],
        canonical_link=r[5],
        content_hash=r[6],
        fingerprint=r[7],
        cluster_id=r[8],
        method=r[9],
        score=r[10],
        matched_item_id=r[11],
        first_seen=r[12],
        dedup=bool(r[13]),
    )
