"""The decider's per-host slots (aggregator.daemon.politeness): which due feeds may go,
and when a slot frees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aggregator.daemon.politeness import HostSlots
from aggregator.types import FeedToPoll

T0 = datetime(2026, 12, 4, tzinfo=UTC)
LEASE = timedelta(minutes=15)


def _feed(feed_id: int, host: str, checked: datetime | None = None) -> FeedToPoll:
    url = f"https://{host}/feed/{feed_id}"
    return FeedToPoll(id=feed_id, url=url, fetch_url=url, last_checked=checked)


def test_due_feeds_go_while_their_host_has_a_free_slot_in_their_order() -> None:
    slots = HostSlots(2, LEASE)
    due = [_feed(1, "a.example"), _feed(2, "a.example"), _feed(3, "b.example")]
    due += [_feed(4, "A.example:8080"), _feed(5, "b.example")]  # the same machine as 1 and 2
    assert [f.id for f in slots.admit(due)] == [1, 2, 3, 5]
    slots.handed(slots.admit(due), T0)
    assert slots.admit([_feed(6, "a.example"), _feed(7, "c.example")]) == [_feed(7, "c.example")]


def test_a_slot_frees_when_the_fetch_is_recorded_the_feed_goes_or_the_lease_ends() -> None:
    slots = HostSlots(1, LEASE)
    recorded, removed, lost, waiting = (_feed(n, f"h{n}.example", T0) for n in range(1, 5))
    slots.handed([recorded, removed, lost, waiting], T0)
    later = T0 + timedelta(minutes=1)
    slots.landed({1: later, 3: T0, 4: T0}, later)  # 1 recorded, 2 removed
    assert sorted(slots.feed_ids()) == [3, 4]
    slots.landed({3: T0, 4: T0}, T0 + LEASE)  # nothing recorded within the lease
    assert len(slots) == 0


def test_files_are_never_held_back() -> None:
    slots = HostSlots(1, LEASE)
    files = [FeedToPoll(id=n, url=f"/feeds/{n}.xml", fetch_url=f"/feeds/{n}.xml") for n in (1, 2)]
    assert slots.admit(files) == files
