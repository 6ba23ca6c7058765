"""The compact per-feed block counts against a plain dictionary, through many folds."""

from __future__ import annotations

import random

import pytest

from aggregator.clean import blockcounts
from aggregator.clean.blockcounts import BlockCounts


def test_counts_match_a_dictionary_through_folds_and_reloads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(blockcounts, "MIN_RECENT", 50)  # fold often
    rng = random.Random(5)
    keys = [rng.getrandbits(60) for _ in range(400)] + [0, 2**60 - 1]
    expected: dict[int, dict[int, int]] = {}
    days: dict[tuple[int, int], int] = {}
    counts = BlockCounts()
    for step in range(300):
        feed_id = rng.randrange(1, 9)
        chosen = rng.sample(keys, rng.randrange(1, 30))
        increments = [(key, rng.randrange(1, 4)) for key in chosen]
        day = 100 + step // 40
        counts.add(feed_id, increments, day)
        for key, items in increments:
            per_feed = expected.setdefault(key, {})
            per_feed[feed_id] = per_feed.get(feed_id, 0) + items
            days[(key, feed_id)] = day
        if step == 150:  # as at start: rows read back from the database
            counts.load(
                (k, f, n, days[(k, f)])
                for k, per_feed in expected.items()
                for f, n in per_feed.items()
            )
    asked = keys + [12345]  # one never added
    assert counts.per_feed_many(asked) == [expected.get(k, {}) for k in asked]
    assert len(counts) == sum(len(v) for v in expected.values())
    # Forgetting takes exactly the pairs the database's rule takes: few items, old day.
    gone = counts.forget(2, 104)
    for key, per_feed in expected.items():
        for feed_id in [f for f, n in per_feed.items() if n < 2 and days[(key, f)] < 104]:
            del per_feed[feed_id]
    assert gone > 0
    assert counts.per_feed_many(asked) == [expected.get(k, {}) for k in asked]
    assert len(counts) == sum(len(v) for v in expected.values())


def test_a_pair_keeps_the_day_it_was_last_counted_across_a_new_day() -> None:
    counts = BlockCounts()
    counts.add(1, [(7, 1), (8, 1)], 10)
    counts.add(1, [(7, 1)], 11)  # 7 counted again the next day, before any fold
    counts.add(2, [(8, 1)], 12)
    assert counts.forget(2, 11) == 1  # (8, feed 1): one item, last counted on day 10
    assert counts.per_feed_many([7, 8]) == [{1: 2}, {2: 1}]
    assert counts.forget(2, 13) == 1  # (8, feed 2); 7 counts two items and stays
    assert counts.per_feed_many([7, 8]) == [{1: 2}, {}]


def test_a_pair_given_twice_at_load_is_added_up() -> None:
    counts = BlockCounts()
    counts.load([(7, 1, 2, 3), (7, 1, 3, 5), (7, 2, 1, 4), (9, 1, 1, 4)])
    assert counts.per_feed_many([7, 9, 8]) == [{1: 5, 2: 1}, {1: 1}, {}]
    assert counts.forget(6, 5) == 2  # (7, 2) and (9, 1); (7, 1) keeps its later day


def test_answers_are_fresh_dictionaries() -> None:
    counts = BlockCounts()
    counts.add(1, [(7, 1)], 1)
    counts.per_feed_many([7])[0][1] = 100
    assert counts.per_feed_many([7]) == [{1: 1}]


def test_huge_counts_are_held_at_the_top_instead_of_failing() -> None:
    counts = BlockCounts()
    counts.load([(7, 1, 2**32 + 5, 1), (7, 1, 2**32, 1)])
    counts.add(1, [(8, 2**33)], 1)
    assert counts.per_feed_many([7]) == [{1: 2**32 - 1}]
    assert len(counts) == 2 and counts.per_feed_many([8]) == [{1: 2**32 - 1}]
