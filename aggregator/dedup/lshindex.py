"""A compact banded LSH index over MinHash signatures (datasketch ``hashvalues``).

datasketch's ``MinHashLSH`` keeps a Python dict per band with byte-string keys: about
12 KB per item at 128 permutations.  This index keeps, per item and band, one packed
32-bit entry (6 bits of band number, 26 bits of band hash) and a 32-bit item number in
sorted numpy arrays — 8 bytes a band, 336 bytes an item with 42 bands.

Inserts go to a small array (the *tail*); a full tail is sorted into level 0 and full
levels merge into the next, four times larger (a log-structured merge), so an insert
costs O(log n) amortised and a query is a binary search per level.  The tail is also
kept as a small sorted level of its own, the inserts since the last batch query merged
into it at the next one, so that a batch query searches it as it searches the levels:
a decision queries after every insert, and sorting the tail into level 0 for it
re-sorted that level each time.  Removals mark the
item dead; dead entries are dropped when their level is merged again.

A 26-bit band hash collides by chance with probability n / 2^26 per band: at 100,000
items about 0.06 spurious candidates a query, which the verified comparison discards.

Banding: 42 bands of 3 rows (126 of 128 permutations).  A pair of Jaccard J becomes a
candidate with probability 1 - (1 - J^3)^42: 0.996 at 0.5 (the decision threshold),
0.68 at 0.3, 0.005 at 0.05 — so true pairs are not lost in the banding.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import numpy.typing as npt

BANDS = 42
ROWS = 3
_TAIL_ITEMS = 512
_LEVEL_GROWTH = 16
_KEY_BITS = 26
_KEY_MASK = np.uint64((1 << _KEY_BITS) - 1)

U32 = npt.NDArray[np.uint32]
I32 = npt.NDArray[np.int32]


_MERGE_ITEMS = 16
"""Items inserted since the last batch query, at most, that it merges into the tail's
sorted copy; more (a poll's batch) are sorted into level 0 with the tail, once for all."""

RUN_LIMIT = 64
"""Items sharing one band key beyond this many (near-identical template items) are paired
with the first ``RUN_LIMIT`` of them only: n·64 pairs, not n²."""


def shared_band_pairs(items: list[int], keys: U32) -> list[tuple[int, int]]:
    """Pairs of ``items`` (one row of ``keys`` each) that share a band (see ``RUN_LIMIT``)."""
    return sorted(shared_band_counts(items, keys))


def shared_band_counts(items: list[int], keys: U32) -> Counter[tuple[int, int]]:
    """:func:`shared_band_pairs` with how many bands each pair shares: the more bands, the
    closer their signatures (what ranks an item's partners when it has too many)."""
    pairs: Counter[tuple[int, int]] = Counter()
    if len(items) < 2:
        return pairs
    bands = keys.shape[1]
    flat = keys.reshape(-1)
    owners = np.repeat(np.asarray(items, dtype=np.int64), bands)
    order = np.argsort(flat, kind="stable")
    flat, owners = flat[order], owners[order]
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [flat.size]])
    long_runs = np.flatnonzero(ends - starts > 1)
    for run in long_runs.tolist():  # runs of equal keys: rare beyond true copies
        members = owners[starts[run] : ends[run]].tolist()
        head = members[:RUN_LIMIT]
        pairs.update(
            (min(other, item), max(other, item))
            for position, item in enumerate(members)
            for other in head[: min(position, RUN_LIMIT)]
            if other != item
        )
    return pairs


def band_keys(hashvalues: npt.ArrayLike, bands: int = BANDS, rows: int = ROWS) -> U32:
    """The packed band keys of a signature (1-D), or of many (2-D: one row each)."""
    values = np.asarray(hashvalues, dtype=np.uint64)
    single = values.ndim == 1
    values = values.reshape(-1, values.shape[-1])[:, : bands * rows]
    values = values.reshape(values.shape[0], bands, rows)
    mixed = np.zeros(values.shape[:2], dtype=np.uint64)
    for row in range(rows):
        mixed = (mixed ^ values[:, :, row]) * np.uint64(0x100000001B3)
        mixed ^= mixed >> np.uint64(29)
    band_ids = np.arange(bands, dtype=np.uint64) << np.uint64(_KEY_BITS)
    packed = (band_ids | (mixed & _KEY_MASK)).astype(np.uint32)
    return packed[0] if single else packed


class _Level:
    __slots__ = ("keys", "ids")

    def __init__(self, keys: U32, ids: I32) -> None:
        self.keys = keys
        self.ids = ids

    def __len__(self) -> int:
        return int(self.keys.size)

    @staticmethod
    def empty() -> _Level:
        return _Level(np.empty(0, dtype=np.uint32), np.empty(0, dtype=np.int32))


class BandedIndex:
    """Candidate lookup: ``query(keys)`` returns the live items sharing at least one band.

    Entries hold a *slot* number, not the item id: each insert takes a new slot, a removal
    marks its slot dead, so an edited item re-inserted under the same id never revives its
    old entries.  Dead entries are swept when they reach a quarter of the index.
    """

    def __init__(self, bands: int = BANDS, rows: int = ROWS) -> None:
        self.bands = bands
        self.rows = rows
        self._tail_keys = np.zeros((_TAIL_ITEMS, bands), dtype=np.uint32)
        self._tail_slots = np.zeros(_TAIL_ITEMS, dtype=np.int32)
        self._tail_n = 0
        self._tail_sorted = _Level.empty()
        self._tail_pending: list[tuple[U32, I32]] = []
        self._levels: list[_Level | None] = []
        self._slot_item = np.full(1024, -1, dtype=np.int64)
        self._next_slot = 0
        self._item_slot: dict[int, int] = {}
        self._dead = 0

    def __len__(self) -> int:
        return len(self._item_slot)

    def __contains__(self, item: int) -> bool:
        return item in self._item_slot

    def keys_for(self, hashvalues: npt.ArrayLike) -> U32:
        return band_keys(hashvalues, self.bands, self.rows)

    def _new_slots(self, items: list[int]) -> npt.NDArray[np.int32]:
        first = self._next_slot
        self._next_slot += len(items)
        if self._next_slot > self._slot_item.size:
            grown = np.full(max(self._slot_item.size * 2, self._next_slot), -1, dtype=np.int64)
            grown[: self._slot_item.size] = self._slot_item
            self._slot_item = grown
        slots = np.arange(first, self._next_slot, dtype=np.int32)
        self._slot_item[first : self._next_slot] = items
        for item, slot in zip(items, slots.tolist(), strict=True):
            self._item_slot[item] = slot
        return slots

    def insert(self, item: int, keys: U32) -> None:
        if item in self._item_slot:
            self.remove(item)
        (slot,) = self._new_slots([item]).tolist()
        self._tail_keys[self._tail_n] = keys
        self._tail_slots[self._tail_n] = slot
        self._tail_n += 1
        self._tail_pending.append((keys.reshape(-1), np.full(self.bands, slot, dtype=np.int32)))
        if self._tail_n == _TAIL_ITEMS:
            self._flush_tail()

    def insert_many(self, items: list[int], keys: U32) -> None:
        """Insert many items at once (``keys``: one row per item)."""
        for item in items:
            if item in self._item_slot:
                self.remove(item)
        slots = self._new_slots(items)
        if len(items) >= _TAIL_ITEMS:
            self._push(_Level(keys.reshape(-1).astype(np.uint32), np.repeat(slots, self.bands)), 0)
            return
        done = 0
        while done < len(items):  # into the tail, a block of rows at a time
            room = min(_TAIL_ITEMS - self._tail_n, len(items) - done)
            self._tail_keys[self._tail_n : self._tail_n + room] = keys[done : done + room]
            self._tail_slots[self._tail_n : self._tail_n + room] = slots[done : done + room]
            self._tail_n += room
            self._tail_pending.append(
                (
                    keys[done : done + room].reshape(-1).astype(np.uint32),
                    np.repeat(slots[done : done + room], self.bands),
                )
            )
            done += room
            if self._tail_n == _TAIL_ITEMS:
                self._flush_tail()

    def query_many(self, keys: U32) -> list[set[int]]:
        """``query`` for many signatures at once (one row of keys each): one binary search
        per level for the whole batch instead of one per item."""
        return [set(counts) for counts in self.query_counts_many(keys)]

    def query_counts_many(self, keys: U32) -> list[Counter[int]]:
        """:meth:`query_many` with how many bands each item found shares with the row."""
        if sum(ids.size for _, ids in self._tail_pending) > _MERGE_ITEMS * self.bands:
            self._flush_tail()  # a batch inserted since: one sort for all of it
        elif self._tail_pending:
            self._sort_into_tail()
        results: list[Counter[int]] = [Counter() for _ in range(keys.shape[0])]
        # Searched in ascending order, the keys walk each level forwards: numpy's binary
        # search starts from the previous answer, and the memory it touches stays warm.
        order = np.argsort(keys.reshape(-1), kind="stable")
        flat = keys.reshape(-1)[order]
        for level in (self._tail_sorted, *self._levels):
            if level is None or not len(level):
                continue
            size = len(level)
            left = np.searchsorted(level.keys, flat)
            found = np.flatnonzero(level.keys[np.minimum(left, size - 1)] == flat)
            for index in found.tolist():
                owners = self._live_run(level, int(left[index]), flat[index])
                results[int(order[index]) // self.bands].update(owners)
        return results

    def _live_run(self, level: _Level, start: int, key: np.uint32) -> list[int]:
        """The first ``RUN_LIMIT`` live items of the run of ``key`` that begins at ``start``.

        Dead entries do not count toward the limit: otherwise, once the oldest entries of
        a long run are removed (edited, forgotten), the live ones behind them would stay
        hidden until a sweep.  The walk stops at the run's end or the limit's worth of
        live items, so it costs the run's dead entries at most."""
        size = len(level)
        live: list[int] = []
        position = start
        while position < size and len(live) < RUN_LIMIT:
            end = position + 1
            limit = min(size, position + RUN_LIMIT - len(live))
            while end < limit and level.keys[end] == key:
                end += 1
            owners = self._slot_item[level.ids[position:end].astype(np.int64)]
            live.extend(owners[owners >= 0].tolist())
            if end < limit or end == size or level.keys[end] != key:
                break  # the run ended
            position = end
        return live

    def remove(self, item: int) -> None:
        slot = self._item_slot.pop(item, None)
        if slot is None:
            return
        self._slot_item[slot] = -1
        self._dead += 1
        if self._dead > max(1024, len(self._item_slot) // 4):
            self._sweep()

    def query(self, keys: U32) -> set[int]:
        parts: list[npt.NDArray[np.int32]] = []
        if self._tail_n:
            hit = (self._tail_keys[: self._tail_n] == keys).any(axis=1)
            parts.append(self._tail_slots[: self._tail_n][hit])
        # One binary search per level for the first position of each key; a run of equal
        # keys (a shared band) is rare, so its end is found only where the key is there.
        for level in self._levels:
            if level is None or not len(level):
                continue
            size = len(level)
            left = np.searchsorted(level.keys, keys)
            found = level.keys[np.minimum(left, size - 1)] == keys
            for start in left[found].tolist():
                end = start + 1
                while end < size and level.keys[end] == level.keys[start]:
                    end += 1
                parts.append(level.ids[start:end])
        if not parts:
            return set()
        items = self._slot_item[np.concatenate(parts).astype(np.int64)]
        return set(items[items >= 0].tolist())

    def nbytes(self) -> int:
        """Memory of the sorted levels, the tail and the slot table."""
        levels = sum(lv.keys.nbytes + lv.ids.nbytes for lv in self._levels if lv is not None)
        tail = self._tail_keys.nbytes + self._tail_slots.nbytes
        tail += self._tail_sorted.keys.nbytes + self._tail_sorted.ids.nbytes
        return levels + self._slot_item.nbytes + tail

    def _sort_into_tail(self) -> None:
        """Merge the entries inserted since the last batch query into the sorted copy of
        the tail, after the equal keys already there (a run stays in insertion order, as a
        stable sort leaves it): once for a run of inserts."""
        keys = np.concatenate([keys for keys, _ in self._tail_pending])
        ids = np.concatenate([ids for _, ids in self._tail_pending])
        self._tail_pending = []
        order = np.argsort(keys, kind="stable")
        keys, ids = keys[order], ids[order]
        at = np.searchsorted(self._tail_sorted.keys, keys, side="right")
        self._tail_sorted = _Level(
            np.insert(self._tail_sorted.keys, at, keys), np.insert(self._tail_sorted.ids, at, ids)
        )

    def _flush_tail(self) -> None:
        n = self._tail_n
        self._tail_n = 0
        self._tail_sorted = _Level.empty()
        self._tail_pending = []
        self._push(
            _Level(
                self._tail_keys[:n].reshape(-1).copy(), np.repeat(self._tail_slots[:n], self.bands)
            ),
            0,
        )

    def _push(self, incoming: _Level, depth: int) -> None:
        while len(self._levels) <= depth:
            self._levels.append(None)
        current = self._levels[depth]
        if current is not None:
            incoming = _Level(
                np.concatenate([current.keys, incoming.keys]),
                np.concatenate([current.ids, incoming.ids]),
            )
        capacity = _TAIL_ITEMS * self.bands * _LEVEL_GROWTH ** (depth + 1)
        if len(incoming) > capacity:
            self._levels[depth] = None
            self._push(incoming, depth + 1)
            return
        order = np.argsort(incoming.keys, kind="stable")
        self._levels[depth] = _Level(incoming.keys[order], incoming.ids[order])

    def _sweep(self) -> None:
        """Drop dead entries from every level (amortised: dead entries are ≥ 1/4 of all)."""
        for depth, level in enumerate(self._levels):
            if level is None:
                continue
            alive = self._slot_item[level.ids.astype(np.int64)] >= 0
            self._levels[depth] = _Level(level.keys[alive], level.ids[alive])
        self._dead = 0
