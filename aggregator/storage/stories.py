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

from sqlalchemy import select, update
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
    cluster's canonical copy; rows already right are not rewritten."""
    for chunk in _chunks(sorted(set(cluster_ids)), CHUNK):
        rows = s.execute(
            select(
                Membership.item_id,
                Membership.cluster_id,
                Membership.story_id,
                Membership.canonical,
                Cluster.canonical_item_id,
            )
            .outerjoin(Cluster, Cluster.id == Membership.cluster_id)
            .where(Membership.cluster_id.in_(chunk))
        ).all()
        # Read once and decided here, not by a correlated subquery per row: the
        # decider writes this in every decision.
        first: dict[int, int] = {}
        for item_id, cluster_id, *_ in rows:
            first[cluster_id] = min(item_id, first.get(cluster_id, item_id))
        changed: list[dict[str, Any]] = []
        for item_id, cluster_id, story_id, canonical, canonical_item in rows:
            stamp = {"story_id": first[cluster_id], "canonical": item_id == canonical_item}
            if (story_id, bool(canonical)) != (stamp["story_id"], stamp["canonical"]):
                changed.append({"item_id": item_id, **stamp})
        if changed:
            s.execute(update(Membership), changed)
