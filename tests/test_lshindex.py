"""The banded LSH index (``aggregator.dedup.lshindex``) against a brute-force reference.

The reference is a plain dict ``item -> band keys``: a query finds the items that share at
least one key.  Operations run on random signatures (hypothesis), and after each one the
index's internals are checked too: every level sorted and within its capacity, the tail
and the levels holding each live item's keys exactly once, and a sweep leaving no dead
entry behind.  With the real sizes a level holds 8,192 items, so the property tests shrink
the tail and the growth factor (module constants read at each call) to go through many
merges and levels with a few dozen items; the sweep tests use the real sizes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.dedup import lshindex
from aggregator.dedup.lshindex import RUN_LIMIT, BandedIndex, band_keys, shared_band_pairs

BANDS = 4
VALUES = 6
"""Band hashes drawn from a handful of values: items share bands often, as copies do."""

U32 = npt.NDArray[np.uint32]
Reference = dict[int, tuple[int, ...]]


def _keys(rows: list[list[int]]) -> U32:
    """Packed keys as ``band_keys`` packs them: the band number above a 26-bit hash."""
    return np.array(
        [[(band << 26) | value for band, value in enumerate(row)] for row in rows], dtype=np.uint32
    ).reshape(len(rows), BANDS)


def _expected(reference: Reference, row: U32) -> set[int]:
    wanted = set(row.tolist())
    return {item for item, keys in reference.items() if wanted & set(keys)}


def _entries(index: BandedIndex) -> Iterator[tuple[int, int]]:
    """(slot, key) of every entry in the tail and the levels, dead ones included."""
    tail_n = index._tail_n
    for slot, keys in zip(
        index._tail_slots[:tail_n].tolist(), index._tail_keys[:tail_n].tolist(), strict=True
    ):
        yield from ((slot, key) for key in keys)
    for level in index._levels:
        if level is not None:
            yield from zip(level.ids.tolist(), level.keys.tolist(), strict=True)


def check_structure(index: BandedIndex, reference: Reference) -> None:
    """The levels are sorted and within capacity; the live entries are the reference's
    keys, each exactly once."""
    assert len(index) == len(reference) and all(item in index for item in reference)
    for depth, level in enumerate(index._levels):
        if level is None:
            continue
        assert len(level) <= lshindex._TAIL_ITEMS * index.bands * lshindex._LEVEL_GROWTH ** (
            depth + 1
        )
        assert np.all(level.keys[:-1] <= level.keys[1:]), f"level {depth} is not sorted"
    # The tail's sorted copy, which batch queries search, holds the tail's entries once
    # the inserts since the last batch query are merged into it.
    if index._tail_pending:
        index._sort_into_tail()
    tail = index._tail_sorted
    assert np.all(tail.keys[:-1] <= tail.keys[1:]), "the tail's sorted copy is not sorted"
    n = index._tail_n
    assert Counter(zip(tail.ids.tolist(), tail.keys.tolist(), strict=True)) == Counter(
        zip(
            np.repeat(index._tail_slots[:n], index.bands).tolist(),
            index._tail_keys[:n].reshape(-1).tolist(),
            strict=True,
        )
    )
    live = Counter(
        (int(index._slot_item[slot]), key)
        for slot, key in _entries(index)
        if index._slot_item[slot] >= 0
    )
    assert live == Counter((item, key) for item, keys in reference.items() for key in keys)


def check_queries(index: BandedIndex, reference: Reference, rows: U32) -> None:
    """Both lookups find the reference's items, the batch one with how many bands each
    shares, and neither sorts the tail into a level (a decision queries after every
    insert: sorting there re-sorted level 0 each time)."""
    expected = [_expected(reference, row) for row in rows]
    in_tail = index._tail_n
    assert [index.query(row) for row in rows] == expected
    assert index.query_many(rows) == expected
    shared = [
        Counter(
            {
                item: len(set(keys) & set(row.tolist()))
                for item, keys in reference.items()
                if set(keys) & set(row.tolist())
            }
        )
        for row in rows
    ]
    assert index.query_counts_many(rows) == shared
    assert index._tail_n == in_tail


def longest_run(index: BandedIndex) -> int:
    counts = Counter(key for _, key in _entries(index))
    return max(counts.values(), default=0)


@pytest.fixture
def small_levels(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tail of 4 items, levels growing by 2: merges after a handful of inserts."""
    monkeypatch.setattr(lshindex, "_TAIL_ITEMS", 4)
    monkeypatch.setattr(lshindex, "_LEVEL_GROWTH", 2)


rows = st.lists(st.integers(0, VALUES - 1), min_size=BANDS, max_size=BANDS)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(0, 30), rows),
        st.tuples(
            st.just("insert_many"),
            st.lists(st.tuples(st.integers(0, 30), rows), min_size=1, max_size=8),
        ),
        st.tuples(st.just("remove"), st.integers(0, 30)),
    ),
    max_size=40,
)


# small_levels only sets two constants, the same for every input: sharing it is fine.
@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=operations, queries=st.lists(rows, min_size=1, max_size=5))
def test_operations_match_a_brute_force_reference(
    small_levels: None, operations: list[tuple[object, ...]], queries: list[list[int]]
) -> None:
    index, reference = BandedIndex(bands=BANDS), {}
    for operation in operations:
        match operation:
            case ("insert", int(item), list(row)):
                index.insert(item, _keys([row])[0])
                reference[item] = tuple(_keys([row])[0].tolist())
            case ("insert_many", list(batch)):
                # One row per item, as the engine gives them: the last row of an id wins.
                last = {item: row for item, row in batch}
                items = list(last)
                index.insert_many(items, _keys([last[i] for i in items]))
                reference.update(
                    zip(items, map(tuple, _keys(list(last.values())).tolist()), strict=True)
                )
            case ("remove", int(item)):
                index.remove(item)
                reference.pop(item, None)
        check_structure(index, reference)
    assert longest_run(index) <= RUN_LIMIT  # below the cap, the reference is exact
    check_queries(index, reference, _keys(queries))
    check_structure(index, reference)


def _total_entries(index: BandedIndex) -> int:
    return index._tail_n * index.bands + sum(len(lv) for lv in index._levels if lv is not None)


@pytest.mark.parametrize("sizes", ["real", "small"])
def test_sweep_drops_dead_entries_and_keeps_the_live_ones(
    sizes: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sizes == "small":
        monkeypatch.setattr(lshindex, "_TAIL_ITEMS", 8)
        monkeypatch.setattr(lshindex, "_LEVEL_GROWTH", 2)
    rng = np.random.default_rng(7)
    index = BandedIndex(bands=BANDS)
    rows = _keys(rng.integers(0, 1 << 26, size=(3000, BANDS)).tolist())
    index.insert_many(list(range(1500)), rows[:1500])  # a level at once
    for item in range(1500, 3000):  # and one by one, through the tail
        index.insert(item, rows[item])
    reference = {item: tuple(row) for item, row in enumerate(rows.tolist())}
    check_structure(index, reference)
    assert _total_entries(index) == 3000 * BANDS

    removed = rng.permutation(3000)[:1100].tolist()
    for item in removed[:1024]:
        index.remove(item)
        del reference[item]
    # Not yet: the sweep starts beyond max(1024, live / 4) dead items.
    assert index._dead == 1024 and _total_entries(index) == 3000 * BANDS
    check_structure(index, reference)
    index.remove(removed[1024])  # the sweep
    del reference[removed[1024]]
    check_structure(index, reference)
    assert index._dead == 0
    for level in index._levels:  # no dead entry left in a level (the tail is not swept)
        assert level is None or (index._slot_item[level.ids] >= 0).all()
    dead_in_tail = int((index._slot_item[index._tail_slots[: index._tail_n]] < 0).sum())
    assert _total_entries(index) == (len(reference) + dead_in_tail) * BANDS
    for item in removed[1025:]:
        index.remove(item)
        del reference[item]
    assert index._dead == 75
    check_structure(index, reference)
    check_queries(index, reference, rows[removed[:3] + list(reference)[:20]])

    # A removed item inserted again with other keys is found by the new ones only.
    again = removed[0]
    new_keys = _keys([rng.integers(0, 1 << 26, size=BANDS).tolist()])[0]
    index.insert(again, new_keys)
    reference[again] = tuple(new_keys.tolist())
    assert again not in index.query(rows[again])
    check_queries(index, reference, np.stack([rows[again], new_keys]))
    check_structure(index, reference)


def test_a_full_level_merges_into_the_next_one() -> None:
    """With the real sizes: 16 tails fill level 0 (8,192 items); the next flush merges
    everything into level 1, which then answers for all of them."""
    index = BandedIndex(bands=2)
    tail, growth = lshindex._TAIL_ITEMS, lshindex._LEVEL_GROWTH
    count = tail * growth + tail
    rng = np.random.default_rng(3)
    raw = rng.integers(0, 1 << 26, size=(count, 2))
    keys = ((np.arange(2) << 26) | raw).astype(np.uint32)
    for start in range(0, count, tail):
        index.insert_many(list(range(start, start + tail)), keys[start : start + tail])
    sizes = [len(level) if level is not None else 0 for level in index._levels]
    assert sizes == [0, count * 2]  # level 0 emptied into level 1
    reference = {i: tuple(keys[i].tolist()) for i in range(count)}
    check_structure(index, reference)
    sample = rng.choice(count, size=50, replace=False)
    assert index.query_many(keys[sample]) == [_expected(reference, keys[i]) for i in sample]


def test_a_run_longer_than_the_limit_is_cut_to_its_oldest_entries() -> None:
    """Template items (the same band keys) beyond ``RUN_LIMIT``: a batch query pairs a
    new one with the oldest ``RUN_LIMIT`` of them; a single query still finds them all."""
    index = BandedIndex(bands=BANDS)
    same = _keys([[1] * BANDS] * 100)
    index.insert_many(list(range(100)), same)
    assert index.query_many(same[:1]) == [set(range(RUN_LIMIT))]
    assert index.query(same[0]) == set(range(100))


def test_a_run_whose_oldest_entries_were_removed_still_finds_the_live_ones() -> None:
    """Dead entries do not count toward ``RUN_LIMIT``: with the oldest 70 of a run removed
    (no sweep yet), a batch query finds the live ones behind them, still at most 64."""
    index = BandedIndex(bands=BANDS)
    same = _keys([[1] * BANDS] * 200)
    index.insert_many(list(range(200)), same)
    for item in range(70):
        index.remove(item)
    assert index.query(same[0]) == set(range(70, 200))
    assert index.query_many(same[:1]) == [set(range(70, 70 + RUN_LIMIT))]
    for item in range(70, 190):
        index.remove(item)
    assert index.query_many(same[:1]) == [set(range(190, 200))]


def test_a_batch_query_finds_items_inserted_since_one_by_one_or_as_a_poll() -> None:
    """Real sizes: a query after one insert merges it into the tail's sorted copy, one
    after a poll's worth of inserts sorts them into level 0; both find every item, and
    the first leaves the tail where it was."""
    rng = np.random.default_rng(11)
    index = BandedIndex(bands=BANDS)
    rows = _keys(rng.integers(0, 1 << 26, size=(120, BANDS)).tolist())
    for item in range(100):  # a poll's batch, one insert at a time
        index.insert(item, rows[item])
    assert index.query_many(rows[:100]) == [{item} for item in range(100)]
    assert index._tail_n == 0  # sorted into level 0 at once
    for item in range(100, 120):  # then a decision an item
        index.insert(item, rows[item])
        assert index.query_many(rows[item : item + 1]) == [{item}]
    assert index._tail_n == 20
    assert index.query_many(rows) == [{item} for item in range(120)]


# -- pairs inside a batch -----------------------------------------------------------------


@settings(max_examples=200, deadline=None, database=None)
@given(batch=st.lists(rows, max_size=30))
def test_shared_band_pairs_are_the_pairs_sharing_a_key(batch: list[list[int]]) -> None:
    items = [10 * n + 3 for n in range(len(batch))]  # ids need not be positions
    keys = _keys(batch)
    expected = sorted(
        (a, b)
        for x, a in enumerate(items)
        for y, b in enumerate(items)
        if x < y and set(keys[x].tolist()) & set(keys[y].tolist())
    )
    assert shared_band_pairs(items, keys) == expected


def test_shared_band_pairs_of_look_alikes_pair_each_with_the_first_64() -> None:
    items = list(range(200))
    pairs = shared_band_pairs(items, _keys([[5] * BANDS] * 200))
    partners: dict[int, set[int]] = {}
    for a, b in pairs:
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    assert len(pairs) == RUN_LIMIT * (RUN_LIMIT - 1) // 2 + (200 - RUN_LIMIT) * RUN_LIMIT
    assert all(partners[item] == set(range(RUN_LIMIT)) for item in range(RUN_LIMIT, 200))


def test_band_keys_pack_the_band_number_and_agree_for_one_or_many() -> None:
    rng = np.random.default_rng(11)
    signatures = rng.integers(0, 2**32, size=(5, 128), dtype=np.uint64)
    many = band_keys(signatures)
    assert many.shape == (5, lshindex.BANDS) and many.dtype == np.uint32
    assert np.array_equal(many[2], band_keys(signatures[2]))
    assert ((many >> 26) == np.arange(lshindex.BANDS)).all()
    # Bands of equal rows get equal keys, whatever the rest of the signature holds.
    other = signatures[0].copy()
    other[lshindex.ROWS :] += 1
    shared = band_keys(other) == many[0]
    assert shared[0] and shared.sum() < lshindex.BANDS
