"""Politeness across workers: at most ``per_host`` fetches in flight to one host, however
many worker processes and threads there are.

Each worker limits only what it fetches itself, and a worker runs one task per thread: a
site whose feeds are due together would get one connection per worker thread.  The
decider hands every feed out, so it is the one place that sees all fetches.  It hands a
host's due feeds out in batches, each one task that a worker fetches one feed after
another (one connection), and a host has at most ``per_host`` batches out at once.  A
batch rather than a feed per task: where many feeds share a host, a task a feed made the
round trip through the broker, the worker and the database the bound on that host's rate
(two feeds at a time), and its cost per feed the bound on everything else.

A feed has landed when its next check is no longer the claim's lease (a worker recorded
the fetch, whatever its outcome, or gave the feed back), when it is gone, or when the lease
has run out (the task was lost); a batch frees its host's slot when all its feeds have.
What is in flight is this decider's memory: a standby that takes over starts with every
slot free, so after a failover a host may see the batches of both deciders, until the old
one's land (at most their lease).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from aggregator.fetch.pool import host_key
from aggregator.types import FeedToPoll


@dataclass(frozen=True)
class _Flight:
    host: str
    batch: int
    lease: datetime
    """The next check the claim gave the feed: a worker's record or give-back changes it."""


class HostSlots:
    """The batches the decider handed out and no worker has finished yet, per host."""

    def __init__(self, per_host: int, batch_size: int) -> None:
        self.per_host = max(per_host, 1)
        self.batch_size = max(batch_size, 1)
        self._flying: dict[int, _Flight] = {}
        self._batches = itertools.count()

    def __len__(self) -> int:
        """Feeds in flight."""
        return len(self._flying)

    def feed_ids(self) -> list[int]:
        return list(self._flying)

    def landed(self, next_checks: Mapping[int, datetime | None], now: datetime) -> int:
        """Forget the feeds that landed (``next_checks``: the stored next check of each feed
        still there); return how many did."""
        freed = 0
        for feed_id, flight in list(self._flying.items()):
            if (
                feed_id not in next_checks
                or next_checks[feed_id] != flight.lease
                or now >= flight.lease
            ):
                del self._flying[feed_id]
                freed += 1
        return freed

    def admit(self, due: Sequence[FeedToPoll]) -> list[list[FeedToPoll]]:
        """The batches that may go now, from the due feeds in their order: each host gets
        up to one batch per free slot, its feeds spread evenly over them, at most
        ``batch_size`` feeds a batch."""
        busy = Counter(host for host, _batch in {(f.host, f.batch) for f in self._flying.values()})
        waiting: defaultdict[str, list[FeedToPoll]] = defaultdict(list)
        for feed in due:
            host = host_key(feed)
            if len(waiting[host]) < (self.per_host - busy[host]) * self.batch_size:
                waiting[host].append(feed)
        batches: list[list[FeedToPoll]] = []
        for host, feeds in waiting.items():
            if feeds:
                count = min(self.per_host - busy[host], len(feeds))
                batches.extend(feeds[k::count] for k in range(count))
        return batches

    def handed(self, batch: Sequence[FeedToPoll], lease: datetime) -> None:
        """This batch was sent to the workers, its feeds claimed until ``lease``."""
        number = next(self._batches)
        for feed in batch:
            self._flying[feed.id] = _Flight(host_key(feed), number, lease)
