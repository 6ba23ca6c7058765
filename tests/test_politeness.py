"""The decider's per-host slots (aggregator.daemon.politeness): which due feeds may go, in
which batches, and when a slot frees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aggregator.daemon.politeness import HostSlots
from aggregator.types import FeedToPoll

T0 = datetime(2026, 12, 4, tzinfo=UTC)
LEASE = timedelta(minutes=15)
LEASE_END = T0 + LEASE


def _feed(feed_id: int, host: str) -> FeedToPoll:
    url = f"https://{host}/feed/{feed_id}"
    return FeedToPoll(id=feed_id, url=url, fetch_url=url)


def _ids(batches: list[list[FeedToPoll]]) -> list[list[int]]:
    return [[f.id for f in batch] for batch in batches]


def test_due_feeds_go_in_batches_while_their_host_has_a_free_slot_in_their_order() -> None:
    slots = HostSlots(2, 3)
    due = [_feed(1, "a.example"), _feed(2, "a.example"), _feed(3, "b.example")]
    due += [_feed(4, "A.example:8080"), _feed(5, "b.example")]  # the same machine as 1 and 2
    # Each host's feeds spread over its two slots: two connections at most, both used.
    assert _ids(slots.admit(due)) == [[1, 4], [2], [3], [5]]
    for batch in slots.admit(due):
        slots.handed(batch, LEASE_END)
    assert _ids(slots.admit([_feed(6, "a.example"), _feed(7, "c.example")])) == [[7]]


def test_a_host_with_many_due_feeds_gets_full_batches_up_to_its_slots() -> None:
    slots = HostSlots(2, 3)
    due = [_feed(n, "a.example") for n in range(1, 10)]
    assert _ids(slots.admit(due)) == [[1, 3, 5], [2, 4, 6]]  # 7, 8, 9 wait
    slots.handed(due[:3], LEASE_END)
    assert _ids(slots.admit(due[3:])) == [[4, 5, 6]]  # one batch out: one slot free


def test_a_batch_frees_its_slot_when_every_feed_of_it_has_landed() -> None:
    slots = HostSlots(1, 10)
    slots.handed([_feed(1, "a.example"), _feed(2, "a.example")], LEASE_END)
    assert slots.landed({1: T0 + timedelta(hours=1), 2: LEASE_END}, T0) == 1  # 1 recorded
    assert slots.admit([_feed(3, "a.example")]) == []  # 2 still out
    assert slots.landed({2: T0}, T0) == 1  # given back: due now
    assert _ids(slots.admit([_feed(3, "a.example")])) == [[3]]


def test_a_feed_lands_when_it_is_recorded_given_back_removed_or_its_lease_ends() -> None:
    slots = HostSlots(1, 1)
    recorded, given_back, removed, lost, waiting = (_feed(n, f"h{n}.example") for n in range(5))
    slots.handed([recorded], LEASE_END)
    for feed in (given_back, removed, lost, waiting):
        slots.handed([feed], LEASE_END)
    later = T0 + timedelta(minutes=1)
    held = {lost.id: LEASE_END, waiting.id: LEASE_END}
    assert slots.landed({recorded.id: later + LEASE, given_back.id: later, **held}, later) == 3
    assert sorted(slots.feed_ids()) == [lost.id, waiting.id]
    assert slots.landed(held, LEASE_END) == 2  # nothing recorded within the lease
    assert len(slots) == 0


def test_files_are_never_held_back() -> None:
    slots = HostSlots(1, 10)
    files = [FeedToPoll(id=n, url=f"/feeds/{n}.xml", fetch_url=f"/feeds/{n}.xml") for n in (1, 2)]
    assert slots.admit(files) == [[files[0]], [files[1]]]
