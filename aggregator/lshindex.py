"""A compact banded LSH index over MinHash signatures (datasketch ``hashvalues``).

datasketch's ``MinHashLSH`` keeps a Python dict per band with byte-string keys: about
12 KB per item at 128 permutations.  This index keeps, per item and band, one packed
32-bit entry (6 bits of band number, 26 bits of band hash) and a 32-bit item number in
sorted numpy arrays — 8 bytes a band, 336 bytes an item with 42 bands.

Inserts go to a small dict (the *tail*); a full tail is sorted into level 0 and full
levels merge into the next, four times larger (a log-structured merge), so an insert
costs O(log n) amortised and a query is a binary search per level.  Removals mark the
item dead; dead entries are dropped when their level is merged again.

A 26-bit band hash collides by chance with probability n / 2^26 per band: at 100,000
items about 0.06 spurious candidates a query, which the verified comparison discards.

Banding: 42 bands of 3 rows (126 of 128 permutations).  A pair of Jaccard J becomes a
candidate with probability 1 - (1 - J^3)^42: 0.996 at 0.5 (the decision threshold),
0.68 at 0.3, 0.005 at 0.05 — so true pairs are not lost in the banding.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BANDS = 42
ROWS = 3
_TAIL_ITEMS = 512
_LEVEL_GROWTH = 4
_KEY_BITS = 26
_KEY_MASK = np.uint64((1 << _KEY_BITS) - 1)

U32 = npt.NDArray[np.uint32]
I32 = npt.NDArray[np.int32]


def band_keys(hashvalues: npt.ArrayLike, bands: int = BANDS, rows: int = ROWS) -> U32:
    """The packed band keys of one signature."""
    values = np.asarray(hashvalues, dtype=np.uint64)[: bands * rows].reshape(bands, rows)
    mixed = np.zeros(bands, dtype=np.uint64)
    for row in range(rows):
        mixed = (mixed ^ values[:, row]) * np.uint64(0x100000001B3)
        mixed ^= mixed >> np.uint64(29)
    band_ids = np.arange(bands, dtype=np.uint64) << np.uint64(_KEY_BITS)
    return (band_ids | (mixed & _KEY_MASK)).astype(np.uint32)


class _Level:
    __slots__ = ("keys", "ids")

    def __init__(self, keys: U32, ids: I32) -> None:
        self.keys = keys
        self.ids = ids

    def __len__(self) -> int:
        return int(self.keys.size)


class BandedIndex:
    """Candidate lookup: ``query(keys)`` returns the live items sharing at least one band.

    Entries hold a *slot* number, not the item id: each insert takes a new slot, a removal
    marks its slot dead, so an edited item re-inserted under the same id never revives its
    old entries.  Dead entries are swept when they reach a quarter of the index.
    """

    def __init__(self, bands: int = BANDS, rows: int = ROWS) -> None:
        self.bands = bands
        self.rows = rows
        self._tail: dict[int, list[int]] = {}
        self._tail_slots: dict[int, U32] = {}
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

    def insert(self, item: int, keys: U32) -> None:
        if item in self._item_slot:
            self.remove(item)
        slot = self._next_slot
        self._next_slot += 1
        if slot >= self._slot_item.size:
            grown = np.full(self._slot_item.size * 2, -1, dtype=np.int64)
            grown[: self._slot_item.size] = self._slot_item
            self._slot_item = grown
        self._slot_item[slot] = item
        self._item_slot[item] = slot
        for key in keys.tolist():
            self._tail.setdefault(key, []).append(slot)
        self._tail_slots[slot] = keys
        if len(self._tail_slots) >= _TAIL_ITEMS:
            self._flush_tail()

    def remove(self, item: int) -> None:
        slot = self._item_slot.pop(item, None)
        if slot is None:
            return
        self._slot_item[slot] = -1
        keys = self._tail_slots.pop(slot, None)
        if keys is not None:  # still in the tail: take it out at once
            for key in keys.tolist():
                slots = [s for s in self._tail.get(key, ()) if s != slot]
                if slots:
                    self._tail[key] = slots
                else:
                    self._tail.pop(key, None)
            return
        self._dead += 1
        if self._dead > max(1024, len(self._item_slot) // 4):
            self._sweep()

    def query(self, keys: U32) -> set[int]:
        slots: list[int] = []
        for key in keys.tolist():
            slots.extend(self._tail.get(key, ()))
        for level in self._levels:
            if level is None or not len(level):
                continue
            left = np.searchsorted(level.keys, keys, side="left")
            right = np.searchsorted(level.keys, keys, side="right")
            hit = right > left
            for lo, hi in zip(left[hit].tolist(), right[hit].tolist(), strict=True):
                slots.extend(level.ids[lo:hi].tolist())
        if not slots:
            return set()
        items = self._slot_item[np.asarray(slots, dtype=np.int64)]
        return set(items[items >= 0].tolist())

    def nbytes(self) -> int:
        """Memory of the sorted levels and the slot table (the tail is small and bounded)."""
        levels = sum(lv.keys.nbytes + lv.ids.nbytes for lv in self._levels if lv is not None)
        return levels + self._slot_item.nbytes

    def _flush_tail(self) -> None:
        slots = list(self._tail_slots)
        keys = np.concatenate([self._tail_slots[s] for s in slots]).astype(np.uint32)
        ids = np.repeat(np.asarray(slots, dtype=np.int32), self.bands)
        self._tail.clear()
        self._tail_slots.clear()
        self._push(_Level(keys, ids), 0)

    def _push(self, incoming: _Level, depth: int) -> None:
        while len(self._levels) <= depth:
            self._levels.append(None)
        current = self._levels[depth]
        if current is not None:
            incoming = _Level(np.concatenate([current.keys, incoming.keys]),
                              np.concatenate([current.ids, incoming.ids]))
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
