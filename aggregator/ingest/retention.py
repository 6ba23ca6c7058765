"""Retention as the decider applies it: old stories leave the database and the dedup
engine together.

The engine holds the stories of its window (and older members of their clusters) in
memory and may match a new item with any of them; a story dropped from the database
while the engine still held it would come back as a membership naming a deleted item.
So only the decider prunes (the drop is fenced by its lease, like its decisions), and it
forgets what it dropped in the same step.  A process that takes the lease only to prune
(``aggregator db prune``) has no engine loaded: the next decider loads one from what is
left.  ``retention.max_age`` is never shorter than the dedup window, so what goes is
already out of it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from aggregator.errors import AggregatorError
from aggregator.ingest.metrics import log_event
from aggregator.ingest.state import DecisionState
from aggregator.types import PruneReport

PRUNE_BATCH = 2_000
"""Stories dropped per transaction."""


def cutoff(now: datetime, max_age: float) -> datetime:
    """Items that arrived and were published before this are old (``max_age`` in days)."""
    return now - timedelta(days=max_age)


def count_old(state: DecisionState, max_age: float, now: datetime) -> PruneReport:
    """What :func:`prune` would drop now (reads only: needs no lease)."""
    return state.storage.prune(cutoff(now, max_age), dry_run=True)


def prune(state: DecisionState, max_age: float, now: datetime) -> PruneReport:
    """As the lease holder: drop the stories older than ``max_age`` days, and forget them.
    A batch of stories per transaction: on SQLite a long one would hold the write lock
    long enough for a poll storing beside it to give up waiting."""
    if state.fence is None:
        raise AggregatorError("only the decider prunes: this process does not hold the lease")
    old = cutoff(now, max_age)
    total = PruneReport(0, 0, 0, 0)
    while True:
        after = total.last_cluster_id or 0
        report = state.storage.prune(old, fence=state.fence, after=after, limit=PRUNE_BATCH)
        if state.ready:
            state.engine.forget(report.item_ids)
        total += report
        if report.clusters < PRUNE_BATCH:
            return total


def log_pruned(log: logging.Logger, report: PruneReport, max_age: float) -> None:
    """The log line of a prune (the daemon's, or the decider role's)."""
    log_event(
        log,
        logging.INFO,
        "pruned",
        items=report.items,
        clusters=report.clusters,
        reader_marks=report.reader_marks,
        corrections=report.corrections,
        max_age_days=max_age,
    )
