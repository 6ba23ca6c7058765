"""Retention: dropping old stories, and giving the space back (``db prune``, ``db vacuum``).

A story goes as a whole: an item is dropped only with every other member of its cluster,
once all of them are older than the cutoff (a lone item is a cluster of one).  Kept
whatever their age: a story with an item still waiting for a decision, one a reader
starred, and the newest item and the newest cluster (SQLite would otherwise hand their ids
to the next ones, and an id must never name a second item or story).

With the items go everything that names them: memberships, cluster rows, read and starred
marks, corrections, their place in the decider's queue (none: waiting stories are kept),
and the search index (its triggers).  Block counts stay: they count what a feed repeated,
and that still holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, Select, delete, exists, func, or_, select, text
from sqlalchemy.orm import Session

from aggregator.storage.base import StorageBase, _chunks, _storage_errors
from aggregator.storage.decisions import check_fence
from aggregator.storage.models import (
    Base,
    Cluster,
    Correction,
    Item,
    Membership,
    ReaderRead,
    ReaderStarred,
    Undecided,
)
from aggregator.types import PruneReport


class RetentionMixin(StorageBase):
    """Prune old stories; vacuum the database."""

    @_storage_errors("prune old items")
    def prune(
        self,
        cutoff: datetime,
        *,
        dry_run: bool = False,
        fence: str | None = None,
        after: int = 0,
        limit: int | None = None,
    ) -> PruneReport:
        """Drop the stories whose every item arrived and was published before ``cutoff``,
        in one transaction (see the module docstring for what is kept): at most ``limit``
        of them, those of the lowest cluster ids above ``after``.  ``dry_run``: count
        only.  With a ``fence`` (the decider's token) nothing is dropped unless this
        process is still the decider: the decider's engine holds the stories it drops."""
        with self._tx() as s:
            if not dry_run:
                check_fence(s, fence)
            query = _doomed_clusters(s, cutoff).where(Cluster.id > after)
            clusters = list(s.scalars(query if limit is None else query.limit(limit)))
            item_ids = _members(s, clusters)
            marks = corrections = 0
            for chunk in _chunks(item_ids, 500):
                marks += _count_or_delete(s, ReaderRead, ReaderRead.item_id.in_(chunk), dry_run)
                marks += _count_or_delete(
                    s, ReaderStarred, ReaderStarred.item_id.in_(chunk), dry_run
                )
                corrections += _count_or_delete(
                    s,
                    Correction,
                    or_(Correction.item_id.in_(chunk), Correction.other_item_id.in_(chunk)),
                    dry_run,
                )
                if not dry_run:
                    s.execute(delete(Membership).where(Membership.item_id.in_(chunk)))
                    s.execute(delete(Item).where(Item.id.in_(chunk)))
            if not dry_run:
                for chunk in _chunks(clusters, 500):
                    s.execute(delete(Cluster).where(Cluster.id.in_(chunk)))
            return PruneReport(
                items=len(item_ids),
                clusters=len(clusters),
                reader_marks=marks,
                corrections=corrections,
                item_ids=() if dry_run else tuple(item_ids),
                last_cluster_id=clusters[-1] if clusters else None,
            )

    @_storage_errors("read the database's size")
    def size_on_disk(self) -> int | None:
        """Bytes the database takes (SQLite: the file and its write-ahead log); None when
        it cannot be told (an in-memory database)."""
        if self.engine.dialect.name != "sqlite":
            with self._tx() as s:
                return int(s.scalar(text("SELECT pg_database_size(current_database())")) or 0)
        path = self.engine.url.database
        if not path or path == ":memory:":
            return None
        files = [Path(path), Path(f"{path}-wal")]
        return sum(f.stat().st_size for f in files if f.exists())

    @_storage_errors("vacuum the database")
    def vacuum(self) -> None:
        """Give the space of deleted rows back (SQLite: to the file system, by rewriting
        the file) and refresh the planner's statistics (PostgreSQL: ``VACUUM ANALYZE``).
        Neither runs inside a transaction."""
        sqlite = self.engine.dialect.name == "sqlite"
        with self.engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.execute(text("VACUUM" if sqlite else "VACUUM ANALYZE"))
            if sqlite:
                # In WAL mode the rewritten file goes through the log first: without a
                # checkpoint the space comes back only at the next one, and the log grows.
                autocommit.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def _doomed_clusters(s: Session, cutoff: datetime) -> Select[int]:
    """The ids of the clusters retention drops (see the module docstring)."""
    newest_item = s.scalar(select(func.max(Item.id)))
    newest_cluster = s.scalar(select(func.max(Cluster.id)))
    kept = or_(
        Item.first_seen >= cutoff,
        Item.sort_time >= cutoff,
        Item.id == newest_item,
        exists().where(Undecided.item_id == Item.id),
        exists().where(ReaderStarred.item_id == Item.id),
    )
    a_member_kept = (
        exists()
        .where(Membership.cluster_id == Cluster.id)
        .where(Item.id == Membership.item_id)
        .where(kept)
    )
    query = select(Cluster.id).where(~a_member_kept).order_by(Cluster.id)
    if newest_cluster is not None:
        query = query.where(Cluster.id != newest_cluster)
    return query


def _members(s: Session, clusters: Sequence[int]) -> list[int]:
    out: list[int] = []
    for chunk in _chunks(clusters, 500):
        out.extend(s.scalars(select(Membership.item_id).where(Membership.cluster_id.in_(chunk))))
    return sorted(out)


def _count_or_delete(
    s: Session, model: type[Base], where: ColumnElement[bool], dry_run: bool
) -> int:
    """How many rows of ``model`` match; deleted unless ``dry_run``."""
    if dry_run:
        return int(s.scalar(select(func.count()).select_from(model).where(where)) or 0)
    result: CursorResult[Any] = s.execute(delete(model).where(where))  # type: ignore[assignment]
    return int(result.rowcount or 0)
