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

The decider also forgets old boilerplate evidence, with retention or without: every short
block of every new item is counted for its feed, and almost all are story sentences a
feed counts once and never again.  Such a count has learned nothing; kept for ever, the
rows (and the decider's memory of them) grew with every item ever seen.  A footer recurs
within days, long before ``EVIDENCE_DAYS``.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from aggregator.clean.blockcounts import utc_day
from aggregator.clean.boilerplate import FORGETS_BELOW
from aggregator.errors import AggregatorError
from aggregator.ingest.metrics import log_event
from aggregator.ingest.state import DecisionState
from aggregator.types import PruneReport

PRUNE_BATCH = 2_000
"""Stories dropped per transaction."""
EVIDENCE_DAYS = 14
"""Days the evidence of a block a feed counted once is kept (twice the dedup window if
that is longer): a feed that posts less often than this never learns its footer from its
own items alone."""


def cutoff(now: datetime, max_age: float) -> datetime:
    """Items that arrived and were published before this are old (``max_age`` in days)."""
    return now - timedelta(days=max_age)


def evidence_cutoff(state: DecisionState, now: datetime) -> int:
    """The day before which a block counted once is forgotten."""
    window_days = state.params.window.total_seconds() / 86400
    return utc_day(now) - max(EVIDENCE_DAYS, math.ceil(2 * window_days))


def count_old(state: DecisionState, max_age: float | None, now: datetime) -> PruneReport:
    """What :func:`prune` would drop now (reads only: needs no lease)."""
    evidence = PruneReport(
        0,
        0,
        0,
        0,
        evidence=state.storage.forget_block_counts(
            FORGETS_BELOW, evidence_cutoff(state, now), dry_run=True
        ),
    )
    if max_age is None:
        return evidence
    return state.storage.prune(cutoff(now, max_age), dry_run=True) + evidence


def prune(state: DecisionState, max_age: float | None, now: datetime) -> PruneReport:
    """As the lease holder: forget old evidence, then (with ``max_age`` days) drop the
    stories older than that, and forget them.  A batch of stories per transaction: on
    SQLite a long one would hold the write lock long enough for a poll storing beside it
    to give up waiting."""
    if state.fence is None:
        raise AggregatorError("only the decider prunes: this process does not hold the lease")
    total = PruneReport(0, 0, 0, 0, evidence=forget_evidence(state, now))
    if max_age is None:
        return total
    old = cutoff(now, max_age)
    while True:
        after = total.last_cluster_id or 0
        report = state.storage.prune(old, fence=state.fence, after=after, limit=PRUNE_BATCH)
        if state.ready:
            state.engine.forget(report.item_ids)
        total += report
        if report.clusters < PRUNE_BATCH:
            return total


def forget_evidence(state: DecisionState, now: datetime) -> int:
    """As the lease holder: drop the stored evidence of blocks counted once before the
    cutoff, then the same pairs from the loaded model (one rule for both, so the model
    stays what a load would give)."""
    before = evidence_cutoff(state, now)
    forgotten = state.storage.forget_block_counts(FORGETS_BELOW, before, fence=state.fence)
    if state.ready:
        state.boilerplate.forget_seen_once(before)
    return forgotten


def log_pruned(log: logging.Logger, report: PruneReport, max_age: float | None) -> None:
    """The log line of a prune (the daemon's, or the decider role's)."""
    log_event(
        log,
        logging.INFO,
        "pruned",
        items=report.items,
        clusters=report.clusters,
        reader_marks=report.reader_marks,
        corrections=report.corrections,
        evidence=report.evidence,
        max_age_days=max_age,
    )
