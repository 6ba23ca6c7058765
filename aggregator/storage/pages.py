"""Pages: the read models of the web face (aggregator.publish).

Pages of clusters and items with filters, the evidence behind memberships, and the
time of the last change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from aggregator.storage.base import StorageBase, _chunks, _storage_errors
from aggregator.storage.feeds import same_group
from aggregator.storage.models import Cluster, Feed, Item, Membership
from aggregator.storage.rows import _cluster_view, _item_view
from aggregator.types import ClusterView, ItemView


class PagesMixin(StorageBase):
    """Reads for the web pages: cluster and item pages, membership evidence, last change."""

    @_storage_errors("list clusters")
    def cluster_page(
        self,
        *,
        min_size: int = 1,
        group: str | None = None,
        feed_id: int | None = None,
        feed_ids: Sequence[int] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[ClusterView], int]:
        """Clusters newest first (by their canonical item's time) with their members, and
        how many match in all.  ``group``/``feed_id`` keep clusters with a member there,
        ``feed_ids`` those with a member in any of these feeds; ``since``/``until`` bound
        the canonical item's time (inclusive, exclusive)."""
        with self._tx() as s:
            query = (
                select(Cluster)
                .join(Item, Item.id == Cluster.canonical_item_id)
                .where(Cluster.size >= min_size)
            )
            if group is not None or feed_id is not None or feed_ids is not None:
                holders = select(Membership.cluster_id).join(Item, Item.id == Membership.item_id)
                if group is not None:
                    holders = holders.join(Feed, Feed.id == Item.feed_id).where(same_group(group))
                if feed_id is not None:
                    holders = holders.where(Item.feed_id == feed_id)
                if feed_ids is not None:
                    holders = holders.where(Item.feed_id.in_(list(feed_ids)))
                query = query.where(Cluster.id.in_(holders))
            if since is not None:
                query = query.where(Item.sort_time >= since)
            if until is not None:
                query = query.where(Item.sort_time < until)
            total = int(s.scalar(select(func.count()).select_from(query.subquery())) or 0)
            clusters = list(
                s.scalars(
                    query.order_by(Item.sort_time.desc(), Cluster.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            )
            members: dict[int, list[ItemView]] = {}
            ids = [c.id for c in clusters]
            if ids:
                rows = s.execute(
                    select(Item, Feed.url, Membership, Cluster.canonical_item_id)
                    .join(Feed, Feed.id == Item.feed_id)
                    .join(Membership, Membership.item_id == Item.id)
                    .join(Cluster, Cluster.id == Membership.cluster_id)
                    .where(Membership.cluster_id.in_(ids))
                )
                for item, url, member, canonical in rows:
                    members.setdefault(member.cluster_id, []).append(
                        _item_view(item, url, member, canonical, False)
                    )
            return [_cluster_view(c, members.get(c.id, [])) for c in clusters], total

    @_storage_errors("list items")
    def item_page(
        self,
        *,
        group: str | None = None,
        feed_id: int | None = None,
        cluster_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[ItemView], int]:
        """Items newest first with filters, and how many match in all."""
        with self._tx() as s:
            query = (
                select(Item, Feed.url, Membership, Cluster.canonical_item_id)
                .join(Feed, Feed.id == Item.feed_id)
                .outerjoin(Membership, Membership.item_id == Item.id)
                .outerjoin(Cluster, Cluster.id == Membership.cluster_id)
            )
            if group is not None:
                query = query.where(same_group(group))
            if feed_id is not None:
                query = query.where(Item.feed_id == feed_id)
            if cluster_id is not None:
                query = query.where(Membership.cluster_id == cluster_id)
            if since is not None:
                query = query.where(Item.sort_time >= since)
            if until is not None:
                query = query.where(Item.sort_time < until)
            total = int(
                s.scalar(
                    select(func.count()).select_from(query.with_only_columns(Item.id).subquery())
                )
                or 0
            )
            rows = s.execute(
                query.order_by(Item.sort_time.desc(), Item.id.desc()).limit(limit).offset(offset)
            )
            return [
                _item_view(item, url, member, canonical, False)
                for item, url, member, canonical in rows
            ], total

    @_storage_errors("read membership evidence")
    def membership_evidence(
        self, item_ids: Sequence[int]
    ) -> dict[int, tuple[int | None, datetime]]:
        """``item_id → (matched_item_id, sort_time)``: the member an item was matched to,
        and the time the canonical rule compares ("earliest publication")."""
        out: dict[int, tuple[int | None, datetime]] = {}
        with self._tx() as s:
            for chunk in _chunks(list(item_ids), 500):
                for row in s.execute(
                    select(Item.id, Membership.matched_item_id, Item.sort_time)
                    .outerjoin(Membership, Membership.item_id == Item.id)
                    .where(Item.id.in_(chunk))
                ):
                    out[row[0]] = (row[1], row[2])
        return out

    @_storage_errors("read recent titles")
    def recent_titles(self, per_feed: int = 300) -> list[tuple[int, int | None, str]]:
        """``(feed_id, cluster_id, title)`` of each feed's ``per_feed`` newest titled items:
        what the publisher learns each feed's title affixes from."""
        with self._tx() as s:
            ranked = (
                select(
                    Item.feed_id,
                    Membership.cluster_id,
                    Item.title,
                    func.row_number()
                    .over(
                        partition_by=Item.feed_id, order_by=(Item.sort_time.desc(), Item.id.desc())
                    )
                    .label("rank"),
                )
                .outerjoin(Membership, Membership.item_id == Item.id)
                .where(Item.title.is_not(None), Item.title != "")
                .subquery()
            )
            rows = s.execute(
                select(ranked.c.feed_id, ranked.c.cluster_id, ranked.c.title).where(
                    ranked.c.rank <= per_feed
                )
            )
            return [(int(f), c, str(t)) for f, c, t in rows]

    @_storage_errors("read the last change")
    def last_cluster_change(self) -> datetime | None:
        """When a cluster last changed (a decision, a correction): the published feeds'
        Last-Modified."""
        with self._tx() as s:
            value: datetime | None = s.scalar(select(func.max(Cluster.updated)))
            return value
