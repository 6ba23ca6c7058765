"""A user's corrections (``split``, ``merge``): stored first, by any process, then
replayed into the engine by the decider in the order they were made; the last one wins.
The decider records the last correction it applied, in the transaction that applies it,
so the process that stored one can tell when it has taken effect."""

from __future__ import annotations

from aggregator.errors import AggregatorError
from aggregator.ingest.state import DecisionState
from aggregator.storage import Storage
from aggregator.types import ClusterChanges, CorrectionRecord


class Corrections:
    def __init__(self, state: DecisionState, storage: Storage) -> None:
        self.state = state
        self.storage = storage

    def record_split(self, item_id: int) -> CorrectionRecord:
        """Store: this item leaves its cluster for good (method ``manual``)."""
        if not self.storage.indexed_items_by_id([item_id]):
            raise AggregatorError(f"no item {item_id}")
        return self.storage.add_correction("split", item_id)

    def record_merge(self, first: int, second: int) -> CorrectionRecord:
        """Store: the two clusters become one (the lower id survives)."""
        if first == second:
            raise AggregatorError(f"cannot merge cluster {first} with itself")
        ends = []
        for cluster_id in (first, second):
            cluster = self.storage.get_cluster(cluster_id)
            if cluster is None or cluster.canonical_item_id is None:
                raise AggregatorError(f"no cluster {cluster_id}")
            ends.append(cluster.canonical_item_id)
        return self.storage.add_correction("merge", ends[0], ends[1])

    def catch_up(self) -> ClusterChanges:
        """The decider replays the corrections stored since it last looked (by the CLI,
        the web face, any process); returns the last one's changes."""
        changes = ClusterChanges()
        for correction in self.storage.corrections(after_id=self.state.corrections_seen):
            changes = self._apply(correction)
        return changes

    def _apply(self, correction: CorrectionRecord) -> ClusterChanges:
        state = self.state
        named = [correction.item_id] + (
            [correction.other_item_id] if correction.other_item_id else []
        )
        state.ensure_loaded(named)
        for item_id in named:  # the clusters it names, whole (older members too)
            info = self.storage.indexed_items_by_id([item_id])
            if info and info[0].cluster_id is not None:
                state.ensure_loaded(self.storage.cluster_member_ids(info[0].cluster_id))
        if correction.kind == "split":
            # Reader marks are per item, and a copy that joined after a user marked the
            # story carries none: every copy gets the story's marks first, so the part
            # split out keeps the state the story had (a merge needs nothing: the merged
            # story is marked when either was).
            self.storage.spread_reader_marks(named)
        touched = state.engine.apply_correction(correction)
        state.corrections_seen = max(state.corrections_seen, correction.id)
        changes = state.engine.settle(touched)
        self.storage.apply_cluster_changes(
            changes, fence=state.fence, corrections_applied=state.corrections_seen
        )
        return changes
