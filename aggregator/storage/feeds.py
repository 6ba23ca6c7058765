"""Feeds: the configured sources, their fetch state and their health."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, func, or_, select, update
from sqlalchemy.orm import Session

from aggregator.storage.base import StorageBase, _storage_errors
from aggregator.storage.items import storable_text
from aggregator.storage.models import BlockCount, Cluster, Feed, Item, Membership, utcnow
from aggregator.storage.readers import spread_marks
from aggregator.storage.stories import restamp_stories
from aggregator.types import FeedChanges, FeedSpec, FeedToPoll, FeedView


class FeedsMixin(StorageBase):
    """Adding, listing and removing feeds; recording each fetch and its outcome."""

    @_storage_errors("save feeds")
    def sync_feeds(self, specs: Sequence[FeedSpec]) -> None:
        """Add the configured feeds that are missing and refresh their settings."""
        with self._tx() as s:
            existing = {f.url: f for f in s.scalars(select(Feed))}
            for spec in specs:
                feed = existing.get(spec.url)
                group = _group_spelling(s, spec.group, feed.id if feed is not None else None)
                if feed is None:
                    feed = _new_feed(spec, "config", group)
                    s.add(feed)
                    s.flush()  # the next feed's group takes this one's spelling
                else:
                    feed.origin = "config"  # listed by the operator now, whoever added it
                    feed.name, feed.group_name = spec.name, group
                    feed.priority, feed.interval_seconds = spec.priority, spec.interval
                    feed.dedup = spec.dedup

    @_storage_errors("add a feed")
    def add_feed(self, spec: FeedSpec, origin: str = "cli") -> tuple[FeedView, bool]:
        """Add one feed; return it and whether it was new.  ``origin``: where its URL came
        from (``cli``, ``opml``, ``web``); a feed already stored keeps its own."""
        with self._tx() as s:
            feed = s.scalar(select(Feed).where(Feed.url == spec.url))
            created = feed is None
            if feed is None:
                feed = _new_feed(spec, origin, _group_spelling(s, spec.group, None))
                s.add(feed)
                s.flush()
            return _feed_view(feed), created

    @_storage_errors("find a feed")
    def find_feed(self, reference: int | str) -> FeedView | None:
        """The feed with this id (an int) or this URL (a str), or None."""
        with self._tx() as s:
            if isinstance(reference, int):
                feed = s.get(Feed, reference)
            else:
                feed = s.scalar(select(Feed).where(Feed.url == reference))
            return _feed_view(feed) if feed is not None else None

    @_storage_errors("change a feed")
    def edit_feed(self, feed_id: int, changes: FeedChanges) -> FeedView | None:
        """Apply ``changes`` to the feed; return it as it is now, or None if unknown."""
        with self._tx() as s:
            feed = s.get(Feed, feed_id)
            if feed is None:
                return None
            if changes.name is not None:
                feed.name = changes.name.strip() or None
            if changes.group is not None:
                feed.group_name = _group_spelling(s, changes.group.strip() or None, feed.id)
            if changes.priority is not None:
                feed.priority = changes.priority
            if changes.interval is not None:
                feed.interval_seconds = changes.interval or None
                feed.next_check = None  # the new interval counts from a poll soon
            if changes.enabled is True and feed.disabled:
                feed.disabled = False
                feed.fetch_url = feed.url
                feed.error_count = 0
                feed.next_check = None
            elif changes.enabled is False:
                feed.disabled = True
                feed.next_check = None
            s.flush()
            count = s.scalar(select(func.count()).where(Item.feed_id == feed.id)) or 0
            return _feed_view(feed, int(count))

    @_storage_errors("remove a feed")
    def remove_feed(self, reference: int | str) -> int | None:
        """Remove a feed (by id, or by URL as a str), its items and their memberships;
        return how many items went, or None if there is no such feed."""
        with self._tx() as s:
            if isinstance(reference, int):
                feed = s.get(Feed, reference)
            else:
                feed = s.scalar(select(Feed).where(Feed.url == reference))
            if feed is None:
                return None
            item_ids = list(s.scalars(select(Item.id).where(Item.feed_id == feed.id)))
            touched = set(
                s.scalars(select(Membership.cluster_id).where(Membership.item_id.in_(item_ids)))
            )
            # A copy in another feed may have joined a story after a reader marked it,
            # and carry no mark of its own: it gets the story's marks before the marked
            # copies go, so the story left keeps its state.
            spread_marks(s, item_ids)
            s.execute(
                update(Cluster)
                .where(Cluster.canonical_item_id.in_(item_ids))
                .values(canonical_item_id=None)
            )
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
            counts = {
                feed_id: n
                for feed_id, n in s.execute(
                    select(Item.feed_id, func.count()).group_by(Item.feed_id)
                )
            }
            return [
                _feed_view(f, counts.get(f.id, 0))
                for f in s.scalars(select(Feed).order_by(Feed.id))
            ]

    @_storage_errors("find feeds to poll")
    def feeds_to_poll(
        self, due_before: datetime | None = None, feed_ids: Sequence[int] | None = None
    ) -> list[FeedToPoll]:
        """Enabled feeds, all of them or those whose next check is before ``due_before``
        (and among ``feed_ids``)."""
        with self._tx() as s:
            query = select(Feed).where(Feed.disabled.is_(False)).order_by(Feed.id)
            if due_before is not None:
                query = query.where(_due(due_before))
            if feed_ids is not None:
                query = query.where(Feed.id.in_(list(feed_ids)))
            return [_to_poll(f) for f in s.scalars(query)]

    @_storage_errors("find due feeds")
    def due_feeds(self, now: datetime, limit: int) -> list[FeedToPoll]:
        """Up to ``limit`` enabled feeds due at ``now``, most overdue first.  A read: nothing
        is claimed (see :meth:`claim_feeds`), and only the columns a poll needs are loaded."""
        with self._tx() as s:
            query = (
                select(*_POLL_COLUMNS)
                .where(Feed.disabled.is_(False), _due(now))
                .order_by(Feed.next_check.is_not(None), Feed.next_check, Feed.id)
                .limit(limit)
            )
            return [_to_poll(row) for row in s.execute(query)]

    @_storage_errors("claim feeds to poll")
    def claim_feeds(
        self, feeds: Sequence[FeedToPoll], now: datetime, until: datetime
    ) -> list[FeedToPoll]:
        """Claim these feeds for one poll each, those still enabled and due at ``now``: their
        next check moves to ``until``, a lease (a poll that never reports back, its process
        killed, is tried again then; one that does sets the real next check).  One
        conditional update: a feed claimed, recorded or disabled since it was read is left
        out, and no row stays locked while the caller decides what to send."""
        if not feeds:
            return []
        with self._tx() as s:
            claimed = set(
                s.scalars(
                    update(Feed)
                    .where(Feed.id.in_([f.id for f in feeds]), Feed.disabled.is_(False))
                    .where(_due(now))
                    .values(next_check=until)
                    .returning(Feed.id),
                    execution_options={"synchronize_session": False},
                )
            )
        return [feed for feed in feeds if feed.id in claimed]

    @_storage_errors("read when feeds are next checked")
    def next_check_of(self, feed_ids: Sequence[int]) -> dict[int, datetime | None]:
        """``next_check`` of each of these feeds that still exists."""
        if not feed_ids:
            return {}
        with self._tx() as s:
            rows = s.execute(select(Feed.id, Feed.next_check).where(Feed.id.in_(list(feed_ids))))
            return {feed_id: when for feed_id, when in rows}

    @_storage_errors("give feeds back")
    def give_back(self, feed_ids: Sequence[int], lease: datetime, when: datetime) -> None:
        """Make due at ``when`` those of these claimed feeds that still hold the claim that
        set their next check to ``lease`` (a feed claimed again since is the newer claim's)."""
        if not feed_ids:
            return
        with self._tx() as s:
            s.execute(
                update(Feed)
                .where(Feed.id.in_(list(feed_ids)), Feed.next_check == lease)
                .values(next_check=when)
            )

    @_storage_errors("record a fetch")
    def record_success(
        self,
        feed_id: int,
        *,
        etag: str | None,
        last_modified: str | None,
        title: str | None,
        next_check: datetime,
        fetch_url: str | None = None,
        warning: str | None = None,
    ) -> None:
        with self._tx() as s:
            feed = s.get(Feed, feed_id)
            if feed is None:
                return
            now = utcnow()
            feed.last_checked = feed.last_success = now
            feed.etag, feed.last_modified = etag, last_modified
            if title:
                feed.title = storable_text(title)
            if fetch_url:
                feed.fetch_url = fetch_url
            feed.last_error = storable_text(warning)
            feed.error_count = 0
            feed.next_check = next_check

    @_storage_errors("record not-modified fetches")
    def record_not_modified(
        self, rows: Sequence[tuple[int, str | None, str | None, datetime]]
    ) -> None:
        """Many 304 answers at once: ``(feed_id, etag, last_modified, next_check)``."""
        if not rows:
            return
        now = utcnow()
        with self._tx() as s:
            s.execute(
                update(Feed),
                [
                    {
                        "id": feed_id,
                        "etag": etag,
                        "last_modified": last_modified,
                        "next_check": next_check,
                        "last_checked": now,
                        "last_success": now,
                        "last_error": None,
                        "error_count": 0,
                    }
                    for feed_id, etag, last_modified, next_check in rows
                ],
            )

    @_storage_errors("record a fetch error")
    def record_error(self, feed_id: int, message: str, next_check: datetime) -> None:
        with self._tx() as s:
            feed = s.get(Feed, feed_id)
            if feed is None:
                return
            feed.last_checked = utcnow()
            feed.last_error = storable_text(message)
            feed.error_count += 1
            feed.next_check = next_check

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
            feed.last_error = storable_text(reason)
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


def _new_feed(spec: FeedSpec, origin: str, group: str | None) -> Feed:
    return Feed(
        origin=origin,
        url=spec.url,
        fetch_url=spec.url,
        name=spec.name,
        group_name=group,
        priority=spec.priority,
        dedup=spec.dedup,
        interval_seconds=spec.interval,
        error_count=0,
        disabled=False,
        created=utcnow(),
    )


def same_group(group: str) -> ColumnElement[bool]:
    """The feeds of ``group``, whatever its case: one rule for storing and filtering."""
    return func.lower(Feed.group_name) == group.lower()


def _group_spelling(s: Session, group: str | None, feed_id: int | None) -> str | None:
    """Groups are one whatever their case ("Metro" and "metro"): a group takes the
    spelling another feed already has (the oldest such feed's), so every listing, filter
    and reader's folder sees one group."""
    if group is None:
        return None
    query = select(Feed.group_name).where(same_group(group))
    if feed_id is not None:
        query = query.where(Feed.id != feed_id)
    return s.scalar(query.order_by(Feed.id).limit(1)) or group


def _refresh_clusters(s: Session, cluster_ids: Iterable[int]) -> None:
    """Recount clusters after members left; drop empty ones, re-pick a missing canonical;
    restamp their stories."""
    touched = sorted(set(cluster_ids))
    for cluster_id in touched:
        cluster = s.get(Cluster, cluster_id)
        if cluster is None:
            continue
        rows = s.execute(
            select(Item.id, Item.feed_id)
            .join(Membership, Membership.item_id == Item.id)
            .where(Membership.cluster_id == cluster_id)
            .order_by(Item.sort_time, Item.id)
        ).all()
        if not rows:
            s.delete(cluster)
            continue
        cluster.size = len(rows)
        cluster.feed_count = len({r.feed_id for r in rows})
        if cluster.canonical_item_id not in {r.id for r in rows}:
            cluster.canonical_item_id = rows[0].id
    s.flush()
    restamp_stories(s, touched)


def _feed_view(f: Feed, item_count: int = 0) -> FeedView:
    return FeedView(
        id=f.id,
        url=f.url,
        fetch_url=f.fetch_url,
        name=f.name,
        title=f.title,
        group=f.group_name,
        priority=f.priority,
        disabled=f.disabled,
        etag=f.etag,
        last_modified=f.last_modified,
        last_checked=f.last_checked,
        last_success=f.last_success,
        last_error=f.last_error,
        error_count=f.error_count,
        next_check=f.next_check,
        item_count=item_count,
        interval=f.interval_seconds,
        origin=f.origin,
    )


_POLL_COLUMNS = (
    Feed.id,
    Feed.url,
    Feed.fetch_url,
    Feed.etag,
    Feed.last_modified,
    Feed.error_count,
    Feed.interval_seconds,
    Feed.next_check,
    Feed.last_checked,
    Feed.origin,
)
"""What a poll needs of a feed (:func:`_to_poll` reads a row of them as it reads a Feed)."""


def _due(now: datetime) -> ColumnElement[bool]:
    """A feed whose next check has come, or that was never checked."""
    return or_(Feed.next_check.is_(None), Feed.next_check <= now)


def _to_poll(f: Feed | Row[*tuple[Any, ...]]) -> FeedToPoll:
    return FeedToPoll(
        id=f.id,
        url=f.url,
        fetch_url=f.fetch_url,
        etag=f.etag,
        last_modified=f.last_modified,
        error_count=f.error_count,
        interval=f.interval_seconds,
        due=f.next_check,
        last_checked=f.last_checked,
        origin=f.origin,
    )
