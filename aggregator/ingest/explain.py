"""``clusters explain``: the evidence behind a decision, judged by the engine's own rules.

Each item's text is filtered with the boilerplate learned so far and fingerprinted as the
pipeline does; then :func:`aggregator.dedup.rules.judge` — the function whose rules the
engine applies — says which edge two items earn.  For one item, it is judged against the
member its stored membership names, so the answer and the stored method cannot disagree
unless the item was decided with other evidence (then ``agrees`` is false).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from aggregator.clean.boilerplate import BoilerplateModel
from aggregator.dedup.rules import Comparable, DedupParams, Method, Verdict, judge
from aggregator.errors import AggregatorError
from aggregator.fingerprint.signature import (
    OPENING_HEAD,
    U32,
    Fingerprint,
    fingerprint_blocks,
    from_bytes,
    text_shingles,
)
from aggregator.storage import Storage
from aggregator.types import IndexedItem, ItemView

DIGEST_MIN_STORIES = 3
"""Other stories whose openings a text must hold to be read as a digest of them."""


@dataclass(frozen=True)
class Digest:
    """An item that holds the openings of several other stories: a briefing, a round-up.
    It is a story of its own; a teaser of its first story joins that story, not it."""

    item_id: int
    stories: tuple[int, ...]
    """The clusters whose openings it holds, its own aside."""
    undecided: tuple[int, ...] = ()
    """Items not decided yet whose openings it holds."""

    @property
    def reason(self) -> str:
        named = [f"cluster {c}" for c in self.stories] + [f"item {i}" for i in self.undecided]
        shown = ", ".join(named[:8]) + (", …" if len(named) > 8 else "")
        return (
            f"digest: item {self.item_id} holds the leads of {len(named)} other stories "
            f"below its opening ({shown}); it is a story of its own, and a copy or teaser of "
            "one of them joins that story"
        )


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
    digests: tuple[Digest, ...] = ()
    """Those of the items that are digests of other stories (:func:`digest_of`)."""


def explain(
    storage: Storage,
    boilerplate: BoilerplateModel,
    params: DedupParams,
    item_ids: list[int],
    *,
    find_digests: bool = True,
    digest_window: timedelta | None = None,
) -> Explanation:
    """How one item was placed, or how two items compare and what the rules conclude.

    ``find_digests`` False leaves out :func:`digest_of`, which reads every fingerprint of
    the items published within ``digest_window`` of each item (None: the dedup window):
    the cluster page explains its members without it."""
    indexed = {i.item_id: i for i in storage.indexed_items_by_id(item_ids)}
    matched = {i.item_id: i.matched_item_id for i in indexed.values()}
    wanted = sorted(set(item_ids) | {m for m in matched.values() if m is not None})
    kept_whole = {i.item_id for i in storage.indexed_items_by_id(wanted) if not i.dedup}
    views = {v.id: v for v in storage.list_items(item_ids=wanted, with_content=True)}
    missing = [i for i in item_ids if i not in views]
    if missing:
        raise AggregatorError(f"no item {', '.join(map(str, missing))}")
    prints: dict[int, tuple[Fingerprint, tuple[str, ...]]] = {}
    kept: dict[int, tuple[str, ...]] = {}
    for item_id, view in views.items():
        filtered = boilerplate.filter(view.text)
        prints[item_id] = (fingerprint_blocks(filtered.kept, view.title), filtered.removed)
        kept[item_id] = filtered.kept

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
    digests = tuple(
        digest
        for item_id in dict.fromkeys(item_ids)
        if find_digests
        and item_id in indexed
        and (
            digest := digest_of(
                storage,
                indexed[item_id],
                kept[item_id],
                prints[item_id][0],
                digest_window or params.window,
            )
        )
        is not None
    )
    if len(item_ids) != 2:
        return Explanation(tuple(evidence), digests=digests)
    a, b = item_ids
    return Explanation(
        tuple(evidence),
        judge(comparable(a), comparable(b), params),
        views[a].cluster_id is not None and views[a].cluster_id == views[b].cluster_id,
        digests,
    )


def digest_of(
    storage: Storage,
    item: IndexedItem,
    kept: tuple[str, ...],
    fingerprint: Fingerprint,
    within: timedelta,
) -> Digest | None:
    """Whether an item (its story blocks ``kept`` and their ``fingerprint``) holds the
    openings of ``DIGEST_MIN_STORIES`` other stories or more, among the items published
    ``within`` of it (the dedup window for the command): the pair rules see one story's
    lead in it, as in the story's teaser; only the other stories tell the two apart.
    Reads those items' fingerprints: for ``clusters explain``, not the engine."""
    held = text_shingles(kept)
    if held.size == 0:
        return None
    # A story that opens as this item does shares its heading (a standfirst, a template's
    # fixed opening), not a lead held further down.
    own = np.unique(fingerprint.opening[:OPENING_HEAD])
    stories: dict[int, None] = {}
    for other in _window(storage, item.sort_time - within, item.sort_time + within):
        if other.item_id == item.item_id or other.fingerprint is None:
            continue
        story = other.cluster_id if other.cluster_id is not None else -other.item_id
        if (
            story != item.cluster_id
            and story not in stories
            and _holds_opening(held, own, other.fingerprint, other.content_hash)
        ):
            stories[story] = None
    if len(stories) < DIGEST_MIN_STORIES:
        return None
    return Digest(
        item.item_id, tuple(s for s in stories if s > 0), tuple(-s for s in stories if s < 0)
    )


def _window(storage: Storage, start: datetime, end: datetime) -> Iterator[IndexedItem]:
    """The stored items published from ``start`` to ``end``, a page at a time."""
    for page in storage.indexed_item_pages(since=start):
        for other in page:
            if other.sort_time > end:
                return
            if other.sort_time >= start:
                yield other


def _holds_opening(held: U32, own: U32, blob: bytes, content_hash: str | None) -> bool:
    """Whether the text of ``held`` shingles holds the whole opening of the stored
    fingerprint ``blob``, one that shares none of ``own`` (the text's own opening)."""
    try:
        opening = from_bytes(blob, content_hash).opening[:OPENING_HEAD]
    except ValueError:  # stored with another scheme: re-fingerprinted at the next start
        return False
    if opening.size < OPENING_HEAD or np.isin(opening, own).any():
        return False
    found = held[np.minimum(np.searchsorted(held, opening), held.size - 1)] == opening
    return bool(found.all())


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
