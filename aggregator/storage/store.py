"""The ``Storage`` class: owns the engine; each public method is one transaction.

Methods take and return :mod:`aggregator.types` values, never ORM rows, so nothing
outside this package sees SQLAlchemy.  Database failures surface as ``StorageError``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import (
    and_,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from aggregator.errors import StorageError
from aggregator.storage import migrate
from aggregator.storage.models import (
    BlockCount,
    Cluster,
    Correction,
    Feed,
    Item,
    Membership,
    Setting,
    utcnow,
)
from aggregator.types import (
    CleanItem,
    ClusterChanges,
    ClusterView,
    CorrectionRecord,
    FeedSpec,
    FeedToPoll,
    FeedView,
    IndexedItem,
    ItemView,
    SavedItem,
)

P = ParamSpec("P")
R = TypeVar("R")


def _storage_errors(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Map any database failure of a public method to ``StorageError`` naming the action."""

    def wrap(method: Callable[P, R]) -> Callable[P, R]:
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except SQLAlchemyError as exc:
                raise StorageError(f"storage: unable to {what}: {exc.__class__.__name__}: "
                                   f"{str(exc).splitlines()[0]}") from exc

        wrapper.__name__ = method.__name__
        wrapper.__doc__ = method.__doc__
        return wrapper

    return wrap


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (CLI, web pages) work while the daemon writes; the busy timeout
    # makes a second writer wait instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Storage:
    """All persistence of feeds, items, clusters and boilerplate evidence."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine: Engine = create_engine(url, future=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StorageError(f"storage: cannot open database {url!r}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._unit = threading.local()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        current = getattr(self._unit, "session", None)
        if current is not None:  # inside unit(): the unit commits, once, at its end
            yield current
            return
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def unit(self) -> Iterator[None]:
        """Make the storage calls of this thread inside the block one transaction: all of
        them land, or (on an exception, or a kill) none.  Ingest writes what one feed
        document brought — items, boilerplate evidence, feed status — as one unit."""
        if getattr(self._unit, "session", None) is not None:
            yield  # already inside one
            return
        try:
            with self._sessions.begin() as session:
                self._unit.session = session
                yield
        except SQLAlchemyError as exc:
            raise StorageError(f"storage: unable to commit: {exc.__class__.__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
        finally:
            self._unit.session = None

    # -- schema ---------------------------------------------------------------

    @_storage_errors("upgrade the schema")
    def upgrade(self) -> str | None:
        """Apply pending migrations; return the schema revision."""
        return migrate.upgrade(self.engine)

    @_storage_errors("read the schema revision")
    def schema_revision(self) -> str | None:
        return migrate.current_revision(self.engine)

    @_storage_errors("read a setting")
    def get_setting(self, key: str) -> str | None:
        with self._tx() as s:
            row = s.get(Setting, key)
            return None if row is None else row.value

    @_storage_errors("write a setting")
    def set_setting(self, key: str, value: str) -> None:
        with self._tx() as s:
            s.merge(Setting(key=key, value=value))

    # -- feeds ----------------------------------------------------------------

    @_storage_errors("save feeds")
    def sync_feeds(self, specs: Sequence[FeedSpec]) -> None:
        """Add the configured feeds that are missing and refresh their settings."""
        with self._tx() as s:
            existing = {f.url: f for f in s.scalars(select(Feed))}
            for spec in specs:
                feed = existing.get(spec.url)
                if feed is None:
                    s.add(_new_feed(spec))
                else:
                    feed.name, feed.group_name = spec.name, spec.group
                    feed.priority, feed.interval_seconds = spec.priority, spec.interval

    @_storage_errors("add a feed")
    def add_feed(self, spec: FeedSpec) -> tuple[FeedView, bool]:
        """Add one feed; return it and whether it was new."""
        with self._tx() as s:
            feed = s.scalar(select(Feed).where(Feed.url == spec.url))
            created = feed is None
            if feed is None:
                feed = _new_feed(spec)
                s.add(feed)
                s.flush()
            return _feed_view(feed), created

    @_storage_errors("remove a feed")
    def remove_feed(self, url: str) -> int | None:
        """Remove a feed, its items and their memberships; return how many items went."""
        with self._tx() as s:
            feed = s.scalar(select(Feed).where(Feed.url == url))
            if feed is None:
                return None
            item_ids = list(s.scalars(select(Item.id).where(Item.feed_id == feed.id)))
            touched = set(s.scalars(select(Membership.cluster_id)
                                    .where(Membership.item_id.in_(item_ids))))
            s.execute(update(Cluster).where(Cluster.canonical_item_id.in_(item_ids))
                      .values(canonical_item_id=None))
            s.execute(delete(Membership).where(Membership.item_id.in_(item_ids)))
            s.execute(delete(BlockCount).where(BlockCount.feed_id == feed.id))
            s.execute(delete(Item).where(Item.feed_id == feed.id))
            s.delete(feed)
            s.flush()
            _refresh_clusters(s, touched)
            return len(item_ids)

    @_storage_errors("list feeds")
    def list_feeds(self) -> list[FeedView]:
        with self._tx() as s:
            counts = {feed_id: n for feed_id, n in s.execute(
                select(Item.feed_id, func.count()).group_by(Item.feed_id))}
            return [_feed_view(f, counts.get(f.id, 0))
                    for f in s.scalars(select(Feed).order_by(Feed.id))]

    @_storage_errors("find feeds to poll")
    def feeds_to_poll(self, due_before: datetime | None = None) -> list[FeedToPoll]:
        """Enabled feeds, all of them or those whose next check is before ``due_before``."""
        with self._tx() as s:
            query = select(Feed).where(Feed.disabled.is_(False)).order_by(Feed.id)
            if due_before is not None:
                query = query.where(or_(Feed.next_check.is_(None), Feed.next_check <= due_before))
            return [FeedToPoll(id=f.id, url=f.url, fetch_url=f.fetch_url, etag=f.etag,
                               last_modified=f.last_modified, error_count=f.error_count)
                    for f in s.scalars(query)]

    @_storage_errors("record a fetch")
    def record_success(self, feed_id: int, *, etag: str | None, last_modified: str | None,
                       title: str | None, next_check: datetime,
                       fetch_url: str | None = None, warning: str | None = None) -> None:
        with self._tx() as s:
            feed = s.get(Feed, feed_id)
            if feed is None:
                return
            now = utcnow()
            feed.last_checked = feed.last_success = now
            feed.etag, feed.last_modified = etag, last_modified
            if title:
                feed.title = title
            if fetch_url:
                feed.fetch_url = fetch_url
            feed.last_error = warning
            feed.error_count = 0
            feed.next_check = next_check

    @_storage_errors("record not-modified fetches")
    def record_not_modified(
            self, rows: Sequence[tuple[int, str | None, str | None, datetime]]) -> None:
        """Many 304 answers at once: ``(feed_id, etag, last_modified, next_check)``."""
        if not rows:
            return
        now = utcnow()
        with self._tx() as s:
            s.execute(update(Feed), [
                {"id": feed_id, "etag": etag, "last_modified": last_modified,
                 "next_check": next_check, "last_checked": now, "last_success": now,
                 "last_error": None, "error_count": 0}
                for feed_id, etag, last_modified, next_check in rows])

    @_storage_errors("record a fetch error")
    def record_error(self, feed_id: int, message: str, next_check: datetime) -> None:
        with self._tx() as s:
            feed = s.get(Feed, feed_id)
            if feed is None:
                return
            feed.last_checked = utcnow()
            feed.last_error = message
            feed.error_count += 1
            feed.next_check = next_check

    # -- items ----------------------------------------------------------------

    @_storage_errors("save items")
    def save_items(self, feed_id: int, items: Sequence[CleanItem]) -> list[SavedItem]:
        """Insert new entries and update edited ones, in one transaction.

        An entry is identified by ``(feed, entry_id)``; a repeated entry whose
        ``revision`` is unchanged is left alone, so re-polling never duplicates.
        """
        now = utcnow()
        with self._tx() as s:
            ids = [item.entry_id for item in items]
            existing: dict[str, Item] = {}
            for chunk in _chunks(ids, 500):
                existing.update((row.entry_id, row) for row in s.scalars(
                    select(Item).where(Item.feed_id == feed_id, Item.entry_id.in_(chunk))))
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
                    fresh[item.entry_id] = {"feed_id": feed_id, "entry_id": item.entry_id,
                                            "first_seen": now, **_item_values(item, now)}
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
                returned = s.execute(insert(Item).returning(
                    Item.id, sort_by_parameter_order=True), rows).scalars().all()
                new_ids = {row["entry_id"]: item_id
                           for row, item_id in zip(rows, returned, strict=True)}
            s.flush()
            return [SavedItem(item_id=new_ids[ref] if isinstance(ref, str) else ref.id,
                              status=status) for status, ref in outcome]

    @_storage_errors("read item texts")
    def item_texts(self, item_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
        """``item_id → (feed_id, text)`` for fingerprinting."""
        out: dict[int, tuple[int, str]] = {}
        with self._tx() as s:
            for chunk in _chunks(list(item_ids), 500):
                for row in s.execute(select(Item.id, Item.feed_id, Item.text)
                                     .where(Item.id.in_(chunk))):
                    out[row.id] = (row.feed_id, row.text)
        return out

    @_storage_errors("list items")
    def list_items(self, *, feed_url: str | None = None, cluster_id: int | None = None,
                   limit: int | None = None, with_content: bool = False,
                   item_ids: Sequence[int] | None = None) -> list[ItemView]:
        with self._tx() as s:
            query = (select(Item, Feed.url, Membership, Cluster.canonical_item_id)
                     .join(Feed, Feed.id == Item.feed_id)
                     .outerjoin(Membership, Membership.item_id == Item.id)
                     .outerjoin(Cluster, Cluster.id == Membership.cluster_id)
                     .order_by(Item.sort_time.desc(), Item.id.desc()))
            if feed_url is not None:
                query = query.where(Feed.url == feed_url)
            if cluster_id is not None:
                query = query.where(Membership.cluster_id == cluster_id)
            if item_ids is not None:
                query = query.where(Item.id.in_(list(item_ids)))
            if limit is not None:
                query = query.limit(limit)
            return [_item_view(item, url, member, canonical, with_content)
                    for item, url, member, canonical in s.execute(query)]

    def indexed_items(self, since: datetime | None = None) -> list[IndexedItem]:
        """Items the dedup engine must know: those in the window (all when ``since`` is None),
        every member of a cluster that has one of them, and items not yet decided."""
        return [item for page in self.indexed_item_pages(since) for item in page]

    def indexed_item_pages(self, since: datetime | None = None,
                           page: int = 5000) -> Iterator[list[IndexedItem]]:
        """:meth:`indexed_items` a page at a time, in the same order: a start with a large
        window never holds every stored fingerprint at once."""
        after: tuple[datetime, int] | None = None
        while True:
            rows = self._indexed_page(since, after, page)
            if not rows:
                return
            yield rows
            after = (rows[-1].sort_time, rows[-1].item_id)

    @_storage_errors("load the dedup index")
    def _indexed_page(self, since: datetime | None, after: tuple[datetime, int] | None,
                      page: int) -> list[IndexedItem]:
        with self._tx() as s:
            query = _indexed_query()
            if since is not None:
                recent = select(Membership.cluster_id).join(Item, Item.id == Membership.item_id)\
                    .where(or_(Item.sort_time >= since, Item.first_seen >= since))
                query = query.where(or_(Item.sort_time >= since, Item.first_seen >= since,
                                        Membership.cluster_id.in_(recent),
                                        Membership.item_id.is_(None)))
            if after is not None:
                query = query.where(or_(Item.sort_time > after[0],
                                        and_(Item.sort_time == after[0], Item.id > after[1])))
            return [_indexed(r) for r in s.execute(query.limit(page))]

    @_storage_errors("load items to decide")
    def indexed_items_by_id(self, item_ids: Sequence[int]) -> list[IndexedItem]:
        out: list[IndexedItem] = []
        with self._tx() as s:
            for chunk in _chunks(list(item_ids), 500):
                out.extend(_indexed(r) for r in s.execute(
                    _indexed_query().where(Item.id.in_(chunk))))
        return out

    @_storage_errors("read stored fingerprints")
    def fingerprint_blobs(self, item_ids: Collection[int], scheme: str) -> dict[int, bytes]:
        """``item_id → fingerprint`` of these items, for those stored with ``scheme``."""
        out: dict[int, bytes] = {}
        with self._tx() as s:
            for chunk in _chunks(list(item_ids), 500):
                out.update((item_id, blob) for item_id, blob in s.execute(
                    select(Item.id, Item.fingerprint).where(
                        Item.id.in_(chunk), Item.fingerprint_scheme == scheme))
                    if blob is not None)
        return out

    @_storage_errors("read the fingerprint scheme")
    def fingerprint_schemes(self) -> dict[str | None, int]:
        with self._tx() as s:
            return {scheme: n for scheme, n in s.execute(
                select(Item.fingerprint_scheme, func.count()).group_by(Item.fingerprint_scheme))}

    # -- clusters -------------------------------------------------------------

    @_storage_errors("save cluster decisions")
    def apply_cluster_changes(
        self, changes: ClusterChanges,
        fingerprints: Sequence[tuple[int, str | None, bytes | None]] = (),
        scheme: str | None = None,
    ) -> None:
        """Write one decision in one transaction: the fingerprints it was made from
        (``(item_id, content_hash, bytes)``), memberships and cluster rows."""
        if not changes and not fingerprints:
            return
        now = utcnow()
        with self._tx() as s:
            # Bulk statements (executemany), not one ORM object per row: a poll that
            # brings thousands of items writes them in a handful of round trips.
            if fingerprints:
                s.execute(update(Item), [
                    {"id": item_id, "content_hash": content_hash, "fingerprint": blob,
                     "fingerprint_scheme": scheme}
                    for item_id, content_hash, blob in fingerprints])
            cluster_rows = [
                {"id": c.cluster_id, "canonical_item_id": c.canonical_item_id, "size": c.size,
                 "feed_count": c.feed_count, "note": c.note, "updated": now}
                for c in changes.clusters]
            _upsert(s, Cluster, Cluster.id, cluster_rows, {"created": now})
            member_rows = [
                {"item_id": a.item_id, "cluster_id": a.cluster_id, "method": a.method,
                 "score": a.score, "matched_item_id": a.matched_item_id, "decided_at": now}
                for a in changes.assignments]
            _upsert(s, Membership, Membership.item_id, member_rows, {})
            if changes.deleted_clusters:
                s.execute(delete(Cluster).where(Cluster.id.in_(changes.deleted_clusters)))

    @_storage_errors("read the next cluster id")
    def max_cluster_id(self) -> int:
        with self._tx() as s:
            return int(s.scalar(select(func.max(Cluster.id))) or 0)

    @_storage_errors("list clusters")
    def list_clusters(self, *, min_size: int = 1, limit: int | None = None,
                      with_members: bool = True) -> list[ClusterView]:
        with self._tx() as s:
            query = (select(Cluster).where(Cluster.size >= min_size)
                     .order_by(Cluster.updated.desc(), Cluster.id.desc()))
            if limit is not None:
                query = query.limit(limit)
            clusters = list(s.scalars(query))
        if not with_members:
            return [_cluster_view(c, ()) for c in clusters]
        members: dict[int, list[ItemView]] = {}
        for view in self.list_items(item_ids=None) if clusters else []:
            if view.cluster_id is not None:
                members.setdefault(view.cluster_id, []).append(view)
        return [_cluster_view(c, members.get(c.id, [])) for c in clusters]

    @_storage_errors("read a cluster")
    def get_cluster(self, cluster_id: int, with_content: bool = False) -> ClusterView | None:
        with self._tx() as s:
            cluster = s.get(Cluster, cluster_id)
        if cluster is None:
            return None
        return _cluster_view(cluster, self.list_items(cluster_id=cluster_id,
                                                      with_content=with_content))

    @_storage_errors("count rows")
    def counts(self) -> dict[str, int]:
        with self._tx() as s:
            return {
                "feeds": int(s.scalar(select(func.count()).select_from(Feed)) or 0),
                "items": int(s.scalar(select(func.count()).select_from(Item)) or 0),
                "clusters": int(s.scalar(select(func.count()).select_from(Cluster)) or 0),
                "multi_item_clusters": int(s.scalar(select(func.count()).select_from(Cluster)
                                                    .where(Cluster.size > 1)) or 0),
            }

    # -- corrections ----------------------------------------------------------------

    @_storage_errors("save a correction")
    def add_correction(self, kind: str, item_id: int,
                       other_item_id: int | None = None) -> CorrectionRecord:
        with self._tx() as s:
            row = Correction(kind=kind, item_id=item_id, other_item_id=other_item_id,
                             created=utcnow())
            s.add(row)
            s.flush()
            return CorrectionRecord(row.id, row.kind, row.item_id, row.other_item_id)

    @_storage_errors("read corrections")
    def corrections(self, after_id: int = 0) -> list[CorrectionRecord]:
        with self._tx() as s:
            return [CorrectionRecord(r.id, r.kind, r.item_id, r.other_item_id)
                    for r in s.scalars(select(Correction).where(Correction.id > after_id)
                                       .order_by(Correction.id))]

    @_storage_errors("read cluster members")
    def cluster_member_ids(self, cluster_id: int) -> list[int]:
        with self._tx() as s:
            return list(s.scalars(select(Membership.item_id)
                                  .where(Membership.cluster_id == cluster_id)
                                  .order_by(Membership.item_id)))

    # -- boilerplate evidence ---------------------------------------------------

    @_storage_errors("read boilerplate evidence")
    def block_counts(self, samples_from: int = 0) -> list[tuple[int, str, int, str]]:
        """``(feed_id, block_key, items, sample)`` rows; the sample only on rows counting at
        least ``samples_from`` items (the fewest that can have made a block learned), else
        ``""``."""
        with self._tx() as s:
            # Plain column tuples, not ORM objects, and no sample for the tens of thousands
            # of sentences counted once: loading them all cost a start ~150 MB at its peak.
            sample = case((BlockCount.items >= samples_from, BlockCount.sample), else_="")
            return [(feed_id, key, items, text or "") for feed_id, key, items, text in s.execute(
                select(BlockCount.feed_id, BlockCount.block_key, BlockCount.items, sample))]

    @_storage_errors("save boilerplate evidence")
    def add_block_counts(self, feed_id: int, increments: dict[str, tuple[int, str]]) -> None:
        """Add ``items`` to each ``block_key`` of a feed (``key → (items, sample)``); a
        non-empty sample (a block just learned) is stored with the count."""
        if not increments:
            return
        with self._tx() as s:
            keys = list(increments)
            current: dict[str, int] = {}
            for chunk in _chunks(keys, 500):
                for key, items in s.execute(select(BlockCount.block_key, BlockCount.items).where(
                        BlockCount.feed_id == feed_id, BlockCount.block_key.in_(chunk))):
                    current[key] = items
            # executemany in slices, not an ORM object per block: a new feed brings
            # thousands, and one list of them all would only raise the memory peak.
            fresh = [key for key in keys if key not in current]
            for chunk in _chunks(fresh, 1000):
                s.execute(insert(BlockCount), [
                    {"feed_id": feed_id, "block_key": key, "items": increments[key][0],
                     "sample": increments[key][1][:500]} for key in chunk])
            known = [key for key in keys if key in current]
            for with_sample in (False, True):
                rows = [{"feed_id": feed_id, "block_key": key,
                         "items": current[key] + increments[key][0],
                         **({"sample": increments[key][1][:500]} if with_sample else {})}
                        for key in known if bool(increments[key][1]) == with_sample]
                for chunk in _chunks(rows, 1000):
                    s.execute(update(BlockCount), chunk)

    # -- daemon support --
    # Added for the scheduler (aggregator run): feed health beyond record_success/error.

    @_storage_errors("disable a feed")
    def disable_feed(self, feed_id: int, reason: str) -> None:
        """Stop polling a feed (410 Gone): it keeps its items; ``reason`` becomes its error."""
        with self._tx() as s:
            feed = s.get(Feed, feed_id)
            if feed is None:
                return
            feed.disabled = True
            feed.last_checked = utcnow()
            feed.last_error = reason
            feed.error_count += 1
            feed.next_check = None

    @_storage_errors("enable a feed")
    def enable_feed(self, url: str) -> bool:
        """Poll a disabled feed again, at once and from its configured URL; False if unknown."""
        with self._tx() as s:
            feed = s.scalar(select(Feed).where(Feed.url == url))
            if feed is None:
                return False
            feed.disabled = False
            feed.fetch_url = feed.url
            feed.error_count = 0
            feed.next_check = None
            return True

    @_storage_errors("read the next check time")
    def earliest_next_check(self) -> datetime | None:
        """The soonest ``next_check`` of the enabled feeds (None when none is scheduled)."""
        with self._tx() as s:
            return s.scalar(select(func.min(Feed.next_check)).where(Feed.disabled.is_(False)))

    # -- publishing reads --
    # Reads for the web face (aggregator.publish): pages of clusters and items with
    # filters, the evidence behind memberships, and the time of the last change.

    @_storage_errors("list clusters")
    def cluster_page(self, *, min_size: int = 1, group: str | None = None,
                     feed_id: int | None = None, since: datetime | None = None,
                     until: datetime | None = None, limit: int = 50, offset: int = 0,
                     ) -> tuple[list[ClusterView], int]:
        """Clusters newest first (by their canonical item's time) with their members, and
        how many match in all.  ``group``/``feed_id`` keep clusters with a member there;
        ``since``/``until`` bound the canonical item's time (inclusive, exclusive)."""
        with self._tx() as s:
            query = (select(Cluster).join(Item, Item.id == Cluster.canonical_item_id)
                     .where(Cluster.size >= min_size))
            if group is not None or feed_id is not None:
                holders = select(Membership.cluster_id).join(Item, Item.id == Membership.item_id)
                if group is not None:
                    holders = holders.join(Feed, Feed.id == Item.feed_id)\
                        .where(Feed.group_name == group)
                if feed_id is not None:
                    holders = holders.where(Item.feed_id == feed_id)
                query = query.where(Cluster.id.in_(holders))
            if since is not None:
                query = query.where(Item.sort_time >= since)
            if until is not None:
                query = query.where(Item.sort_time < until)
            total = int(s.scalar(select(func.count()).select_from(query.subquery())) or 0)
            clusters = list(s.scalars(query.order_by(Item.sort_time.desc(), Cluster.id.desc())
                                      .limit(limit).offset(offset)))
            members: dict[int, list[ItemView]] = {}
            ids = [c.id for c in clusters]
            if ids:
                rows = s.execute(select(Item, Feed.url, Membership, Cluster.canonical_item_id)
                                 .join(Feed, Feed.id == Item.feed_id)
                                 .join(Membership, Membership.item_id == Item.id)
                                 .join(Cluster, Cluster.id == Membership.cluster_id)
                                 .where(Membership.cluster_id.in_(ids)))
                for item, url, member, canonical in rows:
                    members.setdefault(member.cluster_id, []).append(
                        _item_view(item, url, member, canonical, False))
            return [_cluster_view(c, members.get(c.id, [])) for c in clusters], total

    @_storage_errors("list items")
    def item_page(self, *, group: str | None = None, feed_id: int | None = None,
                  cluster_id: int | None = None, since: datetime | None = None,
                  until: datetime | None = None, limit: int = 50, offset: int = 0,
                  ) -> tuple[list[ItemView], int]:
        """Items newest first with filters, and how many match in all."""
        with self._tx() as s:
            query = (select(Item, Feed.url, Membership, Cluster.canonical_item_id)
                     .join(Feed, Feed.id == Item.feed_id)
                     .outerjoin(Membership, Membership.item_id == Item.id)
                     .outerjoin(Cluster, Cluster.id == Membership.cluster_id))
            if group is not None:
                query = query.where(Feed.group_name == group)
            if feed_id is not None:
                query = query.where(Item.feed_id == feed_id)
            if cluster_id is not None:
                query = query.where(Membership.cluster_id == cluster_id)
            if since is not None:
                query = query.where(Item.sort_time >= since)
            if until is not None:
                query = query.where(Item.sort_time < until)
            total = int(s.scalar(select(func.count()).select_from(
                query.with_only_columns(Item.id).subquery())) or 0)
            rows = s.execute(query.order_by(Item.sort_time.desc(), Item.id.desc())
                             .limit(limit).offset(offset))
            return [_item_view(item, url, member, canonical, False)
                    for item, url, member, canonical in rows], total

    @_storage_errors("read membership evidence")
    def membership_evidence(self, item_ids: Sequence[int]
                            ) -> dict[int, tuple[int | None, datetime]]:
        """``item_id → (matched_item_id, sort_time)``: the member an item was matched to,
        and the time the canonical rule compares ("earliest publication")."""
        out: dict[int, tuple[int | None, datetime]] = {}
        with self._tx() as s:
            for chunk in _chunks(list(item_ids), 500):
                for row in s.execute(select(Item.id, Membership.matched_item_id, Item.sort_time)
                                     .outerjoin(Membership, Membership.item_id == Item.id)
                                     .where(Item.id.in_(chunk))):
                    out[row[0]] = (row[1], row[2])
        return out

    @_storage_errors("read the last change")
    def last_cluster_change(self) -> datetime | None:
        """When a cluster last changed (a decision, a correction): the published feeds'
        Last-Modified."""
        with self._tx() as s:
            value: datetime | None = s.scalar(select(func.max(Cluster.updated)))
            return value


def _upsert(s: Session, model: Any, key: Any, rows: list[dict[str, Any]],
            on_insert: dict[str, Any]) -> None:
    """Insert the rows whose key is new, update the others; both as executemany."""
    if not rows:
        return
    keys = [row[key.key] for row in rows]
    existing: set[Any] = set()
    for chunk in _chunks(keys, 500):
        existing.update(s.scalars(select(key).where(key.in_(chunk))))
    fresh = [{**on_insert, **row} for row in rows if row[key.key] not in existing]
    known = [row for row in rows if row[key.key] in existing]
    if fresh:
        s.execute(insert(model), fresh)
    if known:
        s.execute(update(model), known)


def _chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _indexed_query() -> Any:
    return (select(Item.id, Item.feed_id, Feed.priority, Item.sort_time, Item.is_summary,
                   Item.canonical_link, Item.content_hash, Item.fingerprint,
                   Membership.cluster_id, Membership.method, Membership.score,
                   Membership.matched_item_id, Item.first_seen)
            .join(Feed, Feed.id == Item.feed_id)
            .outerjoin(Membership, Membership.item_id == Item.id)
            .order_by(Item.sort_time, Item.id))


def _indexed(r: Any) -> IndexedItem:
    return IndexedItem(item_id=r[0], feed_id=r[1], priority=r[2], sort_time=r[3],
                       is_summary=r[4], canonical_link=r[5], content_hash=r[6],
                       fingerprint=r[7], cluster_id=r[8], method=r[9], score=r[10],
                       matched_item_id=r[11], first_seen=r[12])


def _new_feed(spec: FeedSpec) -> Feed:
    return Feed(url=spec.url, fetch_url=spec.url, name=spec.name, group_name=spec.group,
                priority=spec.priority, interval_seconds=spec.interval, error_count=0,
                disabled=False, created=utcnow())


def _reads_the_same(row: Item, item: CleanItem) -> bool:
    """Everything a reader sees, and everything deduplication uses, is unchanged."""
    return (row.text == item.text and row.title == item.title and row.link == item.link
            and row.canonical_link == item.canonical_link and row.author == item.author
            and row.published == item.published and row.updated == item.updated
            and row.is_summary == item.is_summary)


def _item_values(item: CleanItem, first_seen: datetime) -> dict[str, Any]:
    """The columns an entry sets (all but ids, first sight and the fingerprint)."""
    return {
        "guid": item.guid, "link": item.link, "canonical_link": item.canonical_link,
        "title": item.title, "author": item.author, "published": item.published,
        "updated": item.updated,
        # A date in the future (clock skew, hostile feed) must not pin the item in the window.
        "sort_time": min(item.published or item.updated or first_seen, first_seen),
        "content_html": item.content_html, "text": item.text, "is_summary": item.is_summary,
        "revision": item.revision,
    }


def _fill_item(row: Item, item: CleanItem, first_seen: datetime) -> None:
    for name, value in _item_values(item, first_seen).items():
        setattr(row, name, value)


def _refresh_clusters(s: Session, cluster_ids: Iterable[int]) -> None:
    """Recount clusters after members left; drop empty ones, re-pick a missing canonical."""
    for cluster_id in cluster_ids:
        cluster = s.get(Cluster, cluster_id)
        if cluster is None:
            continue
        rows = s.execute(select(Item.id, Item.feed_id).join(
            Membership, Membership.item_id == Item.id).where(
            Membership.cluster_id == cluster_id).order_by(Item.sort_time, Item.id)).all()
        if not rows:
            s.delete(cluster)
            continue
        cluster.size = len(rows)
        cluster.feed_count = len({r.feed_id for r in rows})
        if cluster.canonical_item_id not in {r.id for r in rows}:
            cluster.canonical_item_id = rows[0].id


def _feed_view(f: Feed, item_count: int = 0) -> FeedView:
    return FeedView(id=f.id, url=f.url, fetch_url=f.fetch_url, name=f.name, title=f.title,
                    group=f.group_name, priority=f.priority, disabled=f.disabled, etag=f.etag,
                    last_modified=f.last_modified, last_checked=f.last_checked,
                    last_success=f.last_success, last_error=f.last_error,
                    error_count=f.error_count, next_check=f.next_check, item_count=item_count)


def _item_view(item: Item, feed_url: str, member: Membership | None, canonical_id: int | None,
               with_content: bool) -> ItemView:
    return ItemView(
        id=item.id, feed_id=item.feed_id, feed_url=feed_url, guid=item.guid or item.entry_id,
        link=item.link, canonical_link=item.canonical_link, title=item.title, author=item.author,
        published=item.published, updated=item.updated, is_summary=item.is_summary,
        cluster_id=member.cluster_id if member else None,
        canonical=member is not None and canonical_id == item.id,
        method=member.method if member else None, score=member.score if member else None,
        content_html=item.content_html if with_content else "",
        text=item.text if with_content else "",
    )


def _cluster_view(c: Cluster, members: Sequence[ItemView]) -> ClusterView:
    ordered = sorted(members, key=lambda m: (not m.canonical, m.published is None,
                                             m.published or c.created, m.id))
    return ClusterView(id=c.id, canonical_item_id=c.canonical_item_id, size=c.size,
                       feed_count=c.feed_count, created=c.created, updated=c.updated,
                       members=tuple(ordered), note=c.note)
