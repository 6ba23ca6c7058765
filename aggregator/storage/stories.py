"""The story columns of a membership: ``story_id`` and ``canonical``, in one place.

A story is a cluster as the reader APIs see it.  Its id is its lowest item id, which
stays when the canonical copy changes, when copies arrive and when ``dedup rebuild``
renumbers clusters; its shown item is the cluster's canonical copy.  Both are derived
from the memberships and the cluster rows, and every writer of those (decisions,
corrections and rebuilds through ``apply_cluster_changes``, feed removal) keeps them
with this module, in its own transaction: :func:`decision_stamps` for what a decision
states, :func:`restamp_stories` for the clusters it leaves to the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import false, func, or_, select, update
from sqlalchemy.orm import Session

from aggregator.storage.base import _chunks
from aggregator.storage.models import Cluster, Membership
from aggregator.types import ClusterChanges

CHUNK = 500


def decision_stamps(changes: ClusterChanges) -> tuple[dict[int, dict[str, Any]], set[int]]:
    """The story columns of each assigned item as far as the decision itself tells, to
    write with the memberships; and the clusters whose other members only the database
    knows (:func:`restamp_stories` settles those).  A cluster whose every member the
    decision assigns (its stated size) is settled here: a cold poll's new stories cost
    no second statement."""
    state = {c.cluster_id: c for c in changes.clusters}
    first: dict[int, int] = {}
    assigned: dict[int, int] = {}
    for a in changes.assignments:
        first[a.cluster_id] = min(a.item_id, first.get(a.cluster_id, a.item_id))
        assigned[a.cluster_id] = assigned.get(a.cluster_id, 0) + 1
    stamps = {
        a.item_id: {
            "story_id": first[a.cluster_id],
            "canonical": a.cluster_id in state
            and state[a.cluster_id].canonical_item_id == a.item_id,
        }
        for a in changes.assignments
    }
    unsettled = {
        cluster_id
        for cluster_id in set(state) | set(assigned)
        if cluster_id not in state or state[cluster_id].size != assigned.get(cluster_id, 0)
    }
    return stamps, unsettled


def restamp_stories(s: Session, cluster_ids: Iterable[int]) -> None:
    """Give every member of these clusters its story's id and whether it is the
    cluster's canonical copy; rows already right are not rewritten.

    The database finds the rows that are wrong (it scans each cluster's rows itself), so
    a large cluster gaining copies decision after decision sends back only the few rows
    that change, not all its members every time."""
    for chunk in _chunks(sorted(set(cluster_ids)), CHUNK):
        first = (
            select(Membership.cluster_id, func.min(Membership.item_id).label("story_id"))
            .where(Membership.cluster_id.in_(chunk))
            .group_by(Membership.cluster_id)
            .subquery()
        )
        is_canonical = func.coalesce(Membership.item_id == Cluster.canonical_item_id, false())
        rows = s.execute(
            select(Membership.item_id, first.c.story_id, is_canonical)
            .join(first, first.c.cluster_id == Membership.cluster_id)
            .outerjoin(Cluster, Cluster.id == Membership.cluster_id)
            .where(
                or_(
                    Membership.story_id.is_distinct_from(first.c.story_id),
                    func.coalesce(Membership.canonical, false()).is_distinct_from(is_canonical),
                )
            )
        ).all()
        if rows:
            s.execute(
                update(Membership),
                [
                    {"item_id": item_id, "story_id": story_id, "canonical": bool(canonical)}
                    for item_id, story_id, canonical in rows
                ],
            )
