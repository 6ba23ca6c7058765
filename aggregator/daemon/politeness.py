"""Politeness across workers: at most ``per_host`` fetches in flight to one host, however
many worker processes and threads there are.

Each worker limits only what it fetches itself, and a worker runs one task per thread: a
site whose feeds are due together would get one connection per worker thread.  The
decider hands every feed out, so it is the one place that sees all fetches: it sends a
feed only while its host has a free slot, and a slot frees when the feed's ``last_checked``
moves (a worker recorded the fetch, whatever its outcome) or the claim's lease runs out
(the task was lost).  What is in flight is this decider's memory: a standby that takes
over starts with every slot free, so for one round after a failover a host may see the
fetches of both deciders.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.fetch.pool import host_key
from aggregator.types import FeedToPoll


@dataclass(frozen=True)
class _Flight:
    host: str
    last_checked: datetime | None
    """The feed's ``last_checked`` when it was handed out: a worker's record changes it."""
    handed_at: datetime


class HostSlots:
    """The fetches the decider handed out and no worker has recorded yet, per host."""

    def __init__(self, per_host: int, lease: timedelta) -> None:
        self.per_host = max(per_host, 1)
        self.lease = lease
        self._flying: dict[int, _Flight] = {}

    def __len__(self) -> int:
        return len(self._flying)

    def feed_ids(self) -> list[int]:
        return list(self._flying)

    def landed(self, last_checked: Mapping[int, datetime | None], now: datetime) -> int:
        """Free the slots of the feeds recorded since they were handed out (``last_checked``:
        the stored value of each feed still there), removed, or whose lease ran out; return
        how many were freed."""
        freed = 0
        for feed_id, flight in list(self._flying.items()):
            if (
                feed_id not in last_checked
                or last_checked[feed_id] != flight.last_checked
                or now - flight.handed_at >= self.lease
            ):
                del self._flying[feed_id]
                freed += 1
        return freed

    def admit(self, due: Sequence[FeedToPoll]) -> list[FeedToPoll]:
        """The due feeds that may go now, in their order: those whose host has a free slot,
        counting the ones admitted before them."""
        busy = Counter(flight.host for flight in self._flying.values())
        admitted = []
        for feed in due:
            host = host_key(feed)
            if busy[host] < self.per_host:
                busy[host] += 1
                admitted.append(feed)
        return admitted

    def handed(self, feeds: Sequence[FeedToPoll], now: datetime) -> None:
        """These feeds were sent to the workers."""
        for feed in feeds:
            self._flying[feed.id] = _Flight(host_key(feed), feed.last_checked, now)
