"""The decision engine alone (no database: stored fingerprints are a dict here), on
fingerprints of generated stories."""

from __future__ import annotations

import random
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.clean.text import fold
from aggregator.dedup.engine import Candidate, DedupEngine, DedupParams
from aggregator.fingerprint.signature import Fingerprint, fingerprint_blocks, from_bytes, to_bytes
from aggregator.types import CorrectionRecord
from tests.feeds import story

T0 = datetime(2026, 11, 20, tzinfo=UTC)


def _candidate(item_id: int, paragraphs: list[str], hours: float = 0.0,
               feed_id: int = 1) -> Candidate:
    when = T0 + timedelta(hours=hours)
    return Candidate(item_id=item_id, feed_id=feed_id, priority=0, sort_time=when,
                     is_summary=False, canonical_link=None,
                     fingerprint=fingerprint_blocks([fold(p) for p in paragraphs]),
                     first_seen=when)


def _corpus() -> list[list[str]]:
    """Texts 0-9: five stories, each with a copy; 10-14: summaries of stories 0-4."""
    texts = []
    for n in range(5):
        full = story(700 + n, paragraphs=6)
        texts.append(full)
        texts.append(full[1:] + ["This article is sponsored by Someone Else"])
    for n in range(5):
        texts.append([" ".join(" ".join(story(700 + n, paragraphs=6)).split()[:45])])
    return texts


def _partition(engine: DedupEngine, ids: list[int]) -> set[frozenset[int]]:
    groups: dict[int | None, set[int]] = {}
    for item_id in ids:
        groups.setdefault(engine.cluster_of(item_id), set()).add(item_id)
    return {frozenset(g) for g in groups.values()}


EXPECTED = {frozenset({2 * n, 2 * n + 1, 10 + n}) for n in range(5)}


class _Stored:
    """Fingerprints as the pipeline keeps them: written after each decision, read back
    (bytes → Fingerprint) when the engine verifies a pair with an older item."""

    def __init__(self) -> None:
        self.blobs: dict[int, bytes] = {}
        self.reads: list[list[int]] = []

    def __call__(self, item_ids: Collection[int]) -> dict[int, Fingerprint]:
        self.reads.append(sorted(item_ids))
        return {i: from_bytes(self.blobs[i], None) for i in item_ids if i in self.blobs}

    def decide(self, engine: DedupEngine, candidates: list[Candidate]) -> None:
        blobs = {c.item_id: to_bytes(c.fingerprint) for c in candidates if c.fingerprint}
        engine.decide(candidates, T0 + timedelta(days=1))
        self.blobs.update((i, b) for i, b in blobs.items() if b is not None)


@pytest.mark.parametrize("from_storage", [False, True],
                         ids=["samples-in-memory", "samples-read-back"])
def test_any_arrival_order_gives_the_same_clusters(from_storage: bool) -> None:
    texts = _corpus()
    ids = list(range(len(texts)))
    for seed in range(6):
        order = ids[:]
        random.Random(seed).shuffle(order)
        stored = _Stored()
        engine = DedupEngine(fingerprint_source=stored if from_storage else None)
        for item_id in order:  # one item per decision: the hardest case for order
            stored.decide(engine, [_candidate(item_id, texts[item_id], hours=item_id)])
        assert _partition(engine, ids) == EXPECTED, f"order seed {seed}"
        if from_storage:
            # Older items were read back (the batch's own never are), and only those.
            read = {i for batch in stored.reads for i in batch}
            assert read and read < set(ids)
            assert all(node.fp is None for node in engine._nodes.values())


def test_bulk_load_finds_the_same_edges_as_one_by_one() -> None:
    texts = _corpus()
    ids = list(range(len(texts)))
    engine = DedupEngine()
    engine.load([_candidate(i, texts[i], hours=i) for i in ids], [])
    engine.settle(ids)
    assert _partition(engine, ids) == EXPECTED


def test_the_window_forgets_old_clusters_and_keeps_young_ones() -> None:
    texts = _corpus()
    engine = DedupEngine(DedupParams(window=timedelta(days=7)))
    engine.decide([_candidate(0, texts[0], hours=0)], T0)
    engine.decide([_candidate(2, texts[2], hours=24 * 9)], T0 + timedelta(days=9))
    # Two days later (eviction scans run hourly), story 0 is older than the window.
    changes = engine.decide([_candidate(4, texts[4], hours=24 * 11)], T0 + timedelta(days=11))
    assert 0 not in engine.item_ids() and 2 in engine.item_ids()
    assert not any(a.item_id == 0 for a in changes.assignments)
    # A late copy of the forgotten story starts a new cluster; a copy of a young one joins.
    engine.decide([_candidate(1, texts[1], hours=24 * 11), _candidate(3, texts[3], hours=24 * 11)],
                  T0 + timedelta(days=11))
    assert engine.cluster_of(3) == engine.cluster_of(2)
    assert engine.cluster_of(1) not in (None, engine.cluster_of(2))


def test_edited_item_is_re_decided() -> None:
    texts = _corpus()
    engine = DedupEngine()
    engine.decide([_candidate(0, texts[0]), _candidate(1, texts[1])], T0)
    assert engine.cluster_of(0) == engine.cluster_of(1)
    changes = engine.decide([_candidate(1, story(999, paragraphs=6))], T0)
    assert engine.cluster_of(0) != engine.cluster_of(1)
    assert {a.item_id for a in changes.assignments} >= {1}


def test_corrections_at_engine_level() -> None:
    texts = _corpus()
    engine = DedupEngine()
    ids = list(range(4))
    engine.decide([_candidate(i, texts[i], hours=i) for i in ids], T0)
    engine.settle(engine.apply_correction(CorrectionRecord(1, "split", 1)))
    assert engine.cluster_of(1) != engine.cluster_of(0)
    engine.settle(engine.apply_correction(CorrectionRecord(2, "merge", 0, 2)))
    assert engine.cluster_of(0) == engine.cluster_of(2) == engine.cluster_of(3)
    # a new copy of story 0 never joins the split item
    engine.decide([_candidate(20, texts[0] + ["Sponsored by Nobody"], hours=5)], T0)
    assert engine.cluster_of(20) == engine.cluster_of(0) != engine.cluster_of(1)


def test_an_orphaned_summary_finds_its_next_parent_through_the_source() -> None:
    texts = _corpus()
    copy = texts[0] + ["Follow our other networks here: somewhere"]  # same lead as text 0
    partitions = []
    for source in (None, _Stored()):
        engine = DedupEngine(fingerprint_source=source)
        first = [_candidate(0, texts[0], hours=0), _candidate(1, copy, hours=1),
                 _candidate(10, texts[10], hours=2)]
        if source is None:
            engine.decide(first, T0)
            engine.decide([_candidate(0, story(999, paragraphs=6))], T0)  # the lead's parent
        else:
            source.decide(engine, first)
            source.decide(engine, [_candidate(0, story(999, paragraphs=6))])
        partitions.append(_partition(engine, [0, 1, 10]))
    assert partitions[0] == partitions[1] == {frozenset({0}), frozenset({1, 10})}


def test_an_item_whose_stored_fingerprint_is_gone_earns_no_similarity_edge() -> None:
    texts = _corpus()
    stored = _Stored()
    engine = DedupEngine(fingerprint_source=stored)
    stored.decide(engine, [_candidate(0, texts[0])])
    del stored.blobs[0]  # e.g. its text was edited and it waits to be decided again
    stored.decide(engine, [_candidate(1, texts[1], hours=1)])
    assert engine.cluster_of(1) != engine.cluster_of(0)
    stored.decide(engine, [_candidate(0, texts[0])])  # decided again: now it is compared
    assert engine.cluster_of(1) == engine.cluster_of(0)
