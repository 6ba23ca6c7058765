"""A user's corrections (``split``, ``merge``): stored first, then replayed into the
engine in the order they were made, by whichever process decides; the last one wins."""

from __future__ import annotations

from aggregator.errors import AggregatorError
from aggregator.ingest.state import DecisionState
from aggregator.storage import Storage
from aggregator.types import ClusterChanges, CorrectionRecord


class Corrections:
    def __init__(self, state: DecisionState, storage: Storage) -> None:
        self.state = state
        self.storage = storage

    def split_item(self, item_id: int) -> ClusterChanges:
        """Take an item out of its cluster for good (method ``manual``)."""
        if not self.storage.indexed_items_by_id([item_id]):
            raise AggregatorError(f"no item {item_id}")
        self.state.ensure_loaded([item_id])
        return self._apply(self.storage.add_correction("split", item_id))

    def merge_clusters(self, first: int, second: int) -> ClusterChanges:
        """Join two clusters; the lower id survives."""
        if first == second:
            raise AggregatorError(f"cannot merge cluster {first} with itself")
        ends = []
        for cluster_id in (first, second):
            cluster = self.storage.get_cluster(cluster_id)
            if cluster is None or cluster.canonical_item_id is None:
                raise AggregatorError(f"no cluster {cluster_id}")
            ends.append(cluster.canonical_item_id)
            self.state.ensure_loaded(self.storage.cluster_member_ids(cluster_id))
        return self._apply(self.storage.add_correction("merge", ends[0], ends[1]))

    def catch_up(self) -> None:
        """Replay corrections made since we last looked (e.g. by the CLI beside the daemon)."""
        for correction in self.storage.corrections(after_id=self.state.corrections_seen):
            self.state.ensure_loaded([correction.item_id] + (
                [correction.other_item_id] if correction.other_item_id else []))
            self._apply(correction)

    def _apply(self, correction: CorrectionRecord) -> ClusterChanges:
        engine = self.state.engine
        touched = engine.apply_correction(correction)
        self.state.corrections_seen = max(self.state.corrections_seen, correction.id)
        changes = engine.settle(touched)
        self.storage.apply_cluster_changes(changes)
        return changes
