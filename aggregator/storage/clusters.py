"""Clusters: dedup decisions (memberships and cluster rows) and user corrections."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select, update

from aggregator.storage.base import _storage_errors, _upsert
from aggregator.storage.decisions import check_fence, record_decided
from aggregator.storage.items import ItemsMixin
from aggregator.storage.models import (
    Cluster,
    Correction,
    Feed,
    Item,
    Membership,
    Setting,
    utcnow,
)
from aggregator.storage.rows import _cluster_view
from aggregator.storage.stories import decision_stamps, restamp_stories
from aggregator.types import ClusterChanges, ClusterView, CorrectionRecord, ItemView

CORRECTIONS_APPLIED = "corrections_applied"
"""Setting: the id of the last correction the decider has applied."""


class ClustersMixin(ItemsMixin):
    """Cluster decisions, cluster reads and corrections.

    Built on :class:`ItemsMixin`: a cluster is read with its members, which come from
    ``list_items`` (its own transaction, as ever).
    """

    @_storage_errors("save cluster decisions")
    def apply_cluster_changes(
        self,
        changes: ClusterChanges,
        fingerprints: Sequence[tuple[int, str | None, bytes | None]] = (),
        scheme: str | None = None,
        *,
        decided: Sequence[int] = (),
        fence: str | None = None,
        corrections_applied: int | None = None,
    ) -> None:
        """Write one decision in one transaction: the fingerprints it was made from
        (``(item_id, content_hash, bytes)``), memberships and cluster rows; the ``decided``
        items stop waiting; ``corrections_applied`` records the last correction replayed.
        With a ``fence`` (the decider's token), nothing is written unless this process is
        still the decider (:class:`~aggregator.storage.decisions.LostLease`)."""
        if not changes and not fingerprints and not decided and corrections_applied is None:
            return
        now = utcnow()
        with self._tx() as s:
            check_fence(s, fence)
            record_decided(s, decided)
            if corrections_applied is not None:
                s.merge(Setting(key=CORRECTIONS_APPLIED, value=str(corrections_applied)))
            # Bulk statements (executemany), not one ORM object per row: a poll that
            # brings thousands of items writes them in a handful of round trips.
            if fingerprints:
                s.execute(
                    update(Item),
                    [
                        {
                            "id": item_id,
                            "content_hash": content_hash,
                            "fingerprint": blob,
                            "fingerprint_scheme": scheme,
                        }
                        for item_id, content_hash, blob in fingerprints
                    ],
                )
            cluster_rows = [
                {
                    "id": c.cluster_id,
                    "canonical_item_id": c.canonical_item_id,
                    "size": c.size,
                    "feed_count": c.feed_count,
                    "note": c.note,
                    "updated": now,
                }
                for c in changes.clusters
            ]
            _upsert(s, Cluster, Cluster.id, cluster_rows, {"created": now})
            stamps, unsettled = decision_stamps(changes)
            member_rows = [
                {
                    "item_id": a.item_id,
                    "cluster_id": a.cluster_id,
                    "method": a.method,
                    "score": a.score,
                    "matched_item_id": a.matched_item_id,
                    "decided_at": now,
                    **stamps[a.item_id],
                }
                for a in changes.assignments
            ]
            _upsert(s, Membership, Membership.item_id, member_rows, {})
            if changes.deleted_clusters:
                s.execute(delete(Cluster).where(Cluster.id.in_(changes.deleted_clusters)))
            restamp_stories(s, unsettled)

    @_storage_errors("read the next cluster id")
    def max_cluster_id(self) -> int:
        with self._tx() as s:
            return int(s.scalar(select(func.max(Cluster.id))) or 0)

    @_storage_errors("list clusters")
    def list_clusters(
        self, *, min_size: int = 1, limit: int | None = None, with_members: bool = True
    ) -> list[ClusterView]:
        with self._tx() as s:
            query = (
                select(Cluster)
                .where(Cluster.size >= min_size)
                .order_by(Cluster.updated.desc(), Cluster.id.desc())
            )
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
        return _cluster_view(
            cluster, self.list_items(cluster_id=cluster_id, with_content=with_content)
        )

    @_storage_errors("count rows")
    def counts(self) -> dict[str, int]:
        with self._tx() as s:
            return {
                "feeds": int(s.scalar(select(func.count()).select_from(Feed)) or 0),
                "items": int(s.scalar(select(func.count()).select_from(Item)) or 0),
                "clusters": int(s.scalar(select(func.count()).select_from(Cluster)) or 0),
                "multi_item_clusters": int(
                    s.scalar(select(func.count()).select_from(Cluster).where(Cluster.size > 1)) or 0
                ),
            }

    # -- corrections ----------------------------------------------------------------

    @_storage_errors("save a correction")
    def add_correction(
        self, kind: str, item_id: int, other_item_id: int | None = None
    ) -> CorrectionRecord:
        with self._tx() as s:
            row = Correction(
                kind=kind, item_id=item_id, other_item_id=other_item_id, created=utcnow()
            )
            s.add(row)
            s.flush()
            return CorrectionRecord(row.id, row.kind, row.item_id, row.other_item_id)

    @_storage_errors("read corrections")
    def corrections(self, after_id: int = 0) -> list[CorrectionRecord]:
        with self._tx() as s:
            return [
                CorrectionRecord(r.id, r.kind, r.item_id, r.other_item_id)
                for r in s.scalars(
                    select(Correction).where(Correction.id > after_id).order_by(Correction.id)
                )
            ]

    @_storage_errors("read corrections")
    def corrections_applied(self) -> int:
        """The id of the last correction the decider has applied (0: none)."""
        with self._tx() as s:
            row = s.get(Setting, CORRECTIONS_APPLIED)
            return int(row.value) if row is not None else 0

    @_storage_errors("read cluster members")
    def cluster_member_ids(self, cluster_id: int) -> list[int]:
        with self._tx() as s:
            return list(
                s.scalars(
                    select(Membership.item_id)
                    .where(Membership.cluster_id == cluster_id)
                    .order_by(Membership.item_id)
                )
            )
