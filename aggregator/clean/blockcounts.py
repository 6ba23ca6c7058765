"""Per-feed item counts of every short block the boilerplate model has seen, kept compact.

Almost every counted block is a story sentence seen once or, for a syndicated story, once
in each of a few feeds.  As Python dictionaries that costs ~110-130 bytes a block (a key
int, a packed value, a table slot; a dictionary per block seen in several feeds); here a
``(block, feed)`` pair costs 20 bytes in four sorted arrays, plus a bounded dictionary of
recent increments that is folded into the arrays when it grows past an eighth of them:
each fold re-sorts the arrays, and as they grow by an eighth between folds, a pair is
copied about eight times on average per doubling, not once per increment.

Each pair keeps the UTC day it was last counted, so that the pairs counted once long ago
can be forgotten (:meth:`BlockCounts.forget`): a story sentence is never counted again,
and without an age the arrays grew with every item ever seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

import numpy as np
import numpy.typing as npt

MIN_RECENT = 8192
"""Recent blocks kept as dictionaries before a fold, at the least."""

_EPOCH = date(1970, 1, 1)


def utc_day(moment: datetime) -> int:
    """Days since 1970-01-01 of an aware time, in UTC: the age unit of the evidence."""
    return (moment.astimezone(UTC).date() - _EPOCH).days


class BlockCounts:
    def __init__(self) -> None:
        self._keys: npt.NDArray[np.uint64] = np.empty(0, dtype=np.uint64)
        self._feeds: npt.NDArray[np.uint32] = np.empty(0, dtype=np.uint32)
        self._counts: npt.NDArray[np.uint32] = np.empty(0, dtype=np.uint32)
        self._days: npt.NDArray[np.uint32] = np.empty(0, dtype=np.uint32)
        """Sorted by (key, feed), one row per pair; the day is the pair's last count."""
        self._recent: dict[int, dict[int, int]] = {}
        """Key → {feed: items} added since the last fold (on top of the arrays)."""
        self._recent_day = 0
        """The day of every recent increment: a new day folds them first, so that each
        pair keeps the day the database stores for it."""

    def __len__(self) -> int:
        """Distinct ``(block, feed)`` pairs."""
        if self._recent:
            self._fold()
        return int(self._keys.size)

    def load(self, rows: Iterable[tuple[int, int, int, int]]) -> None:
        """Replace everything with ``(key, feed_id, items, day)`` rows (one per pair)."""
        keys: list[int] = []
        feeds: list[int] = []
        counts: list[int] = []
        days: list[int] = []
        for key, feed_id, items, day in rows:
            keys.append(key)
            feeds.append(feed_id)
            counts.append(items)
            days.append(day)
        self._recent = {}
        self._keys, self._feeds, self._counts, self._days = _summed(
            np.array(keys, dtype=np.uint64),
            np.array(feeds, dtype=np.uint32),
            np.array(counts, dtype=np.uint64),
            np.array(days, dtype=np.uint32),
        )

    def add(self, feed_id: int, increments: Iterable[tuple[int, int]], day: int) -> None:
        """Count ``items`` more items of ``feed_id`` for each ``(key, items)``, on ``day``."""
        if self._recent and day != self._recent_day:
            self._fold()
        self._recent_day = day
        for key, items in increments:
            per_feed = self._recent.setdefault(key, {})
            per_feed[feed_id] = per_feed.get(feed_id, 0) + items
        if len(self._recent) > max(MIN_RECENT, self._keys.size // 8):
            self._fold()

    def forget(self, below: int, before_day: int) -> int:
        """Drop the pairs counting fewer than ``below`` items last counted before
        ``before_day``; return how many went."""
        if self._recent:
            self._fold()
        keep = (self._counts >= below) | (self._days >= before_day)
        dropped = int(keep.size - np.count_nonzero(keep))
        if dropped:
            self._keys, self._feeds = self._keys[keep], self._feeds[keep]
            self._counts, self._days = self._counts[keep], self._days[keep]
        return dropped

    def per_feed_many(self, keys: Sequence[int]) -> list[dict[int, int]]:
        """``{feed_id: items}`` of each key (a fresh dictionary each), in one search."""
        if not keys:
            return []
        wanted = np.array(keys, dtype=np.uint64)
        starts = np.searchsorted(self._keys, wanted, side="left").tolist()
        ends = np.searchsorted(self._keys, wanted, side="right").tolist()
        out: list[dict[int, int]] = []
        for key, start, end in zip(keys, starts, ends, strict=True):
            per_feed = (
                dict(
                    zip(
                        self._feeds[start:end].tolist(),
                        self._counts[start:end].tolist(),
                        strict=True,
                    )
                )
                if end > start
                else {}
            )
            for feed_id, items in self._recent.get(key, {}).items():
                per_feed[feed_id] = per_feed.get(feed_id, 0) + items
            out.append(per_feed)
        return out

    def _fold(self) -> None:
        keys: list[int] = []
        feeds: list[int] = []
        counts: list[int] = []
        for key, per_feed in self._recent.items():
            for feed_id, items in per_feed.items():
                keys.append(key)
                feeds.append(feed_id)
                counts.append(items)
        self._recent = {}
        self._keys, self._feeds, self._counts, self._days = _summed(
            np.concatenate([self._keys, np.array(keys, dtype=np.uint64)]),
            np.concatenate([self._feeds, np.array(feeds, dtype=np.uint32)]),
            np.concatenate([self._counts, np.array(counts, dtype=np.uint64)]),
            np.concatenate([self._days, np.full(len(keys), self._recent_day, dtype=np.uint32)]),
        )


def _summed(
    keys: npt.NDArray[np.uint64],
    feeds: npt.NDArray[np.uint32],
    counts: npt.NDArray[np.uint64],
    days: npt.NDArray[np.uint32],
) -> tuple[
    npt.NDArray[np.uint64], npt.NDArray[np.uint32], npt.NDArray[np.uint32], npt.NDArray[np.uint32]
]:
    """Sorted by (key, feed), with the counts of a pair given twice added up (and held at
    2**32 - 1: far past any learning threshold) and its latest day kept."""
    if keys.size:
        order = np.lexsort((feeds, keys))
        keys, feeds, counts, days = keys[order], feeds[order], counts[order], days[order]
        first = np.ones(keys.size, dtype=bool)
        first[1:] = (keys[1:] != keys[:-1]) | (feeds[1:] != feeds[:-1])
        starts = np.flatnonzero(first)
        if starts.size < keys.size:
            keys, feeds = keys[starts], feeds[starts]
            counts = np.add.reduceat(counts, starts)
            days = np.maximum.reduceat(days, starts)
    limited: npt.NDArray[np.uint32] = np.minimum(counts, np.iinfo(np.uint32).max).astype(np.uint32)
    return keys, feeds, limited, days
