"""The decision engine alone (no database: stored fingerprints are a dict here), on
fingerprints of generated stories."""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aggregator.clean.text import fold
from aggregator.dedup.engine import MAX_CANDIDATES, Candidate, DedupEngine, DedupParams, _capped
from aggregator.dedup.rules import Match, compare
from aggregator.fingerprint.signature import Fingerprint, fingerprint_blocks, from_bytes, to_bytes
from aggregator.types import CorrectionRecord
from tests.feeds import story

T0 = datetime(2026, 11, 20, tzinfo=UTC)


def _candidate(
    item_id: int, paragraphs: list[str], hours: float = 0.0, feed_id: int = 1
) -> Candidate:
    when = T0 + timedelta(hours=hours)
    return Candidate(
        item_id=item_id,
        feed_id=feed_id,
        priority=0,
        sort_time=when,
        is_summary=False,
        canonical_link=None,
        fingerprint=fingerprint_blocks([fold(p) for p in paragraphs]),
        first_seen=when,
    )


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


def test_evidence_kept_between_decisions_is_what_a_full_recompute_gives() -> None:
    """A decision re-derives the evidence of the items whose edges it changed only; the
    rest keep theirs.  Settling every item afterwards (which derives all of it again)
    must then change nothing, whatever the order and the batches."""
    texts = _corpus()
    ids = list(range(len(texts)))
    for seed in range(6):
        order = ids[:]
        random.Random(seed).shuffle(order)
        engine = DedupEngine()
        for start in range(0, len(order), 1 + seed % 3):
            batch = order[start : start + 1 + seed % 3]
            engine.decide([_candidate(i, texts[i], hours=i) for i in batch], T0)
        assert engine.settle(ids).assignments == (), f"order seed {seed}"


@pytest.mark.parametrize(
    "from_storage", [False, True], ids=["samples-in-memory", "samples-read-back"]
)
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
    engine.decide(
        [_candidate(1, texts[1], hours=24 * 11), _candidate(3, texts[3], hours=24 * 11)],
        T0 + timedelta(days=11),
    )
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
        first = [
            _candidate(0, texts[0], hours=0),
            _candidate(1, copy, hours=1),
            _candidate(10, texts[10], hours=2),
        ]
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


# -- the partner cap: near-identical template items ----------------------------------------


def _partners(pairs: Collection[tuple[int, int]]) -> dict[int, set[int]]:
    partners: dict[int, set[int]] = {}
    for a, b in pairs:
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    return partners


def _lowest(partners: dict[int, set[int]], item: int) -> set[int]:
    return set(sorted(partners[item])[:MAX_CANDIDATES])


pair_sets = st.sets(
    st.tuples(st.integers(0, 300), st.integers(0, 300)).filter(lambda p: p[0] < p[1]), max_size=200
)
hubs = st.dictionaries(
    st.integers(0, 300),
    st.sets(st.integers(0, 300), min_size=70, max_size=150),
    min_size=1,
    max_size=4,
)
"""Items proposed with more partners than the cap: some of their partners are hubs too."""


def test_the_cap_is_64() -> None:
    assert MAX_CANDIDATES == 64


@settings(max_examples=100, deadline=None, database=None)
@given(pairs=pair_sets)
def test_capped_keeps_every_pair_when_no_item_has_more_than_64_partners(
    pairs: set[tuple[int, int]],
) -> None:
    assume(all(len(p) <= MAX_CANDIDATES for p in _partners(pairs).values()))
    assert _capped(pairs) == sorted(pairs)


@settings(max_examples=30, deadline=None, database=None)
@given(spread=pair_sets, around=hubs)
def test_capped_keeps_the_lowest_64_partners_of_each_item_and_no_other_pair(
    spread: set[tuple[int, int]], around: dict[int, set[int]]
) -> None:
    pairs = spread | {
        (min(hub, other), max(hub, other))
        for hub, others in around.items()
        for other in others
        if other != hub
    }
    kept = _capped(pairs)
    assert kept == sorted(set(kept)) and set(kept) <= pairs  # in order, each pair once
    partners = _partners(pairs)
    lowest = {item: _lowest(partners, item) for item in partners}
    # Lowest ids first: each item keeps its 64 lowest partners, and a pair is kept only
    # as one of those.
    assert set(kept) == {(min(item, o), max(item, o)) for item in partners for o in lowest[item]}
    assert len(kept) <= MAX_CANDIDATES * len(partners)  # n·64 comparisons at most, not n²


def test_capped_drops_a_pair_neither_item_keeps() -> None:
    """Two groups of 100 look-alikes, every item proposed with every item of the other
    group: a pair survives when it is among the 64 lowest partners of one of its items."""
    left, right = range(100), range(100, 200)
    kept = _capped({(a, b) for a in left for b in right})
    assert kept == sorted(
        (a, b) for a in left for b in right if a < MAX_CANDIDATES or b < 100 + MAX_CANDIDATES
    )
    assert (99, 199) not in kept and len(kept) == 100 * 100 - 36 * 36


def test_capped_verifies_at_most_64_partners_per_item() -> None:
    star = {(0, other) for other in range(1, 101)}  # one new item, 100 proposed partners
    kept = _capped(star, new={0})
    assert [b for _, b in kept] == list(range(1, MAX_CANDIDATES + 1))


TEMPLATE = " ".join(story(4242, paragraphs=1, words=30))
FAMILY = 1000


def _template(item_id: int, hours: float = 0.0, long: bool = False) -> Candidate:
    """A daily notice: the same 30 words (``long``: and the same two paragraphs of 45
    more), then its own number."""
    fixed = [TEMPLATE, *(story(4242, paragraphs=2) if long else [])]
    return _candidate(
        item_id, [*fixed[:-1], f"{fixed[-1]} Notice number {item_id} issued."], hours=hours
    )


@dataclass
class _Family:
    engine: DedupEngine
    stored: _Stored
    compared: dict[int, set[int]]
    """item → the items it was compared with (each call of the rules' ``compare``)."""


@pytest.fixture(scope="module")
def family() -> _Family:
    """A thousand near-identical template items, decided in one batch, comparisons counted
    on the way (a pass-through around the real ``compare``)."""
    import aggregator.dedup.engine as engine_module

    real = compare
    candidates = [_template(i, hours=i / FAMILY) for i in range(FAMILY)]
    owner = {id(c.fingerprint): c.item_id for c in candidates}
    compared: dict[int, set[int]] = {}

    def counting(a: Fingerprint, b: Fingerprint, params: DedupParams | None = None) -> Match:
        first, second = owner[id(a)], owner[id(b)]
        compared.setdefault(first, set()).add(second)
        compared.setdefault(second, set()).add(first)
        return real(a, b, params)

    stored = _Stored()
    engine = DedupEngine(fingerprint_source=stored)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine_module, "compare", counting)
        stored.decide(engine, candidates)
    return _Family(engine, stored, compared)


def test_a_thousand_template_items_form_one_cluster_in_n_times_64_comparisons(
    family: _Family,
) -> None:
    assert len({family.engine.cluster_of(i) for i in range(FAMILY)}) == 1
    assert set(family.compared) == set(range(FAMILY))  # the counting saw every item
    comparisons = sum(map(len, family.compared.values())) // 2
    # 64 a new item by its bands, 64 by its first words and 64 teasers opening as it does
    # (a 30-word notice is all three): not FAMILY² / 2.
    assert FAMILY - 1 <= comparisons <= 3 * MAX_CANDIDATES * FAMILY
    # Each item is compared with those sharing the most bands with it, an earlier one
    # among them: so they chain into one cluster.
    for item in range(MAX_CANDIDATES, FAMILY):
        assert min(family.compared[item]) < item


def test_a_new_template_item_is_compared_with_64_of_its_family(family: _Family) -> None:
    family.stored.reads.clear()
    family.stored.decide(family.engine, [_template(FAMILY, hours=2)])
    assert family.engine.cluster_of(FAMILY) == family.engine.cluster_of(0)
    (read,) = family.stored.reads  # the partners it was verified with, read back
    # 64 by its bands, and those of its first-words lookups that those leave out.
    assert MAX_CANDIDATES <= len(read) <= 3 * MAX_CANDIDATES and set(read) <= set(range(FAMILY))


def test_capped_keeps_the_partners_sharing_the_most_bands_then_the_lowest_ids() -> None:
    """A new item proposed with 100 partners: the ten that share 30 bands with it (a copy
    of its story among texts that open alike) come first, then the lowest ids of those
    sharing 2 bands."""
    star = {(0, other) for other in range(1, 101)}
    shared = {(0, other): 30 if other > 90 else 2 for other in range(1, 101)}
    kept = _capped(star, new={0}, shared=shared)
    assert [b for _, b in kept] == list(range(1, MAX_CANDIDATES - 10 + 1)) + list(range(91, 101))


@pytest.mark.parametrize(
    "long",
    [
        # Short enough to be a teaser (40 shingles or fewer): every look-alike is also
        # found by its first words among the live short texts.
        False,
        # Longer: found through the index's band runs, where the edited-away entries no
        # longer count toward the 64 partners a new item is compared with.
        True,
    ],
)
def test_editing_the_first_of_a_template_family_keeps_the_rest_together(long: bool) -> None:
    family = [_template(i, hours=i / 100, long=long) for i in range(100)]
    others = [_candidate(i, story(9000 + i, paragraphs=2), hours=i / 100) for i in range(70)]
    edited = DedupEngine()
    edited.decide(family, T0)
    edited.decide(others, T0)  # the first 70 become other stories
    edited.decide([_template(500, hours=2, long=long)], T0)
    fresh = DedupEngine()
    fresh.decide(others + family[70:], T0)
    fresh.decide([_template(500, hours=2, long=long)], T0)
    ids = [*range(100), 500]
    assert _partition(fresh, ids) == {frozenset({*range(70, 100), 500})} | {
        frozenset({i}) for i in range(70)
    }
    assert _partition(edited, ids) == _partition(fresh, ids)
