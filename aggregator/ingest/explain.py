"""``clusters explain``: the evidence behind a decision, judged by the engine's own rules.

Each item's text is filtered with the boilerplate learned so far and fingerprinted as the
pipeline does; then :func:`aggregator.dedup.rules.judge` — the function whose rules the
engine applies — says which edge two items earn.  For one item, it is judged against the
member its stored membership names, so the answer and the stored method cannot disagree
unless the item was decided with other evidence (then ``agrees`` is false).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aggregator.clean.boilerplate import BoilerplateModel
from aggregator.dedup.rules import Comparable, DedupParams, Method, Verdict, judge
from aggregator.errors import AggregatorError
from aggregator.fingerprint.signature import Fingerprint, fingerprint_blocks
from aggregator.storage import Storage
from aggregator.types import ItemView


@dataclass(frozen=True)
class ItemEvidence:
    item: ItemView
    matched_item_id: int | None
    """The member the stored membership names (None: alone, or placed by a split)."""
    words: int
    shingles: int
    boilerplate_removed: tuple[str, ...]
    membership: Verdict
    """Why the item is where it is: the rules' verdict against ``matched_item_id``."""

    @property
    def agrees(self) -> bool:
        """The stored method is the one the rules give today."""
        return self.membership.method == (self.item.method or Method.SINGLE)


@dataclass(frozen=True)
class Explanation:
    items: tuple[ItemEvidence, ...]
    comparison: Verdict | None = None
    """For two items: the edge the rules give the pair."""
    same_cluster: bool | None = None


def explain(
    storage: Storage, boilerplate: BoilerplateModel, params: DedupParams, item_ids: list[int]
) -> Explanation:
    """How one item was placed, or how two items compare and what the rules conclude."""
    matched = {i.item_id: i.matched_item_id for i in storage.indexed_items_by_id(item_ids)}
    wanted = sorted(set(item_ids) | {m for m in matched.values() if m is not None})
    kept_whole = {i.item_id for i in storage.indexed_items_by_id(wanted) if not i.dedup}
    views = {v.id: v for v in storage.list_items(item_ids=wanted, with_content=True)}
    missing = [i for i in item_ids if i not in views]
    if missing:
        raise AggregatorError(f"no item {', '.join(map(str, missing))}")
    prints: dict[int, tuple[Fingerprint, tuple[str, ...]]] = {}
    for item_id, view in views.items():
        filtered = boilerplate.filter(view.text)
        prints[item_id] = (fingerprint_blocks(filtered.kept, view.title), filtered.removed)

    def comparable(item_id: int) -> Comparable:
        view = views[item_id]
        return Comparable(
            view.feed_id, view.canonical_link, prints[item_id][0], item_id in kept_whole
        )

    evidence = []
    for item_id in item_ids:
        fp, removed = prints[item_id]
        other = matched.get(item_id)
        evidence.append(
            ItemEvidence(
                item=views[item_id],
                matched_item_id=other,
                words=fp.word_count,
                shingles=fp.size,
                boilerplate_removed=removed,
                membership=_membership(views[item_id], other, comparable, params),
            )
        )
    if len(item_ids) != 2:
        return Explanation(tuple(evidence))
    a, b = item_ids
    return Explanation(
        tuple(evidence),
        judge(comparable(a), comparable(b), params),
        views[a].cluster_id is not None and views[a].cluster_id == views[b].cluster_id,
    )


def _membership(
    view: ItemView, other: int | None, comparable: Callable[[int], Comparable], params: DedupParams
) -> Verdict:
    if view.method == Method.MANUAL:
        return Verdict(
            Method.MANUAL,
            1.0,
            "manual: placed by a correction (clusters "
            "split or merge), which every later decision keeps",
        )
    if other is None:
        return Verdict(Method.SINGLE, 1.0, "single: no verified edge to another item")
    return judge(comparable(view.id), comparable(other), params)
