"""What one fetch says about its feed: health, next check, a move, a disabling.  Pure.

The poll turns each fetch into one :class:`FeedStatus` and storage writes it; the rules of
feed health live here, apart from the I/O: a 410 disables the feed, other failures back
off (:mod:`aggregator.ingest.timing`), a permanent redirect moves the feed to its new URL,
and ``<ttl>`` is remembered so that later 304 answers honour it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aggregator.errors import AggregatorError, FetchError
from aggregator.ingest.metrics import outcome_of
from aggregator.ingest.timing import next_check_after_error, next_check_after_success
from aggregator.types import FeedToPoll, FetchResult, SkippedItem


class Health(StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not-modified"
    FAILED = "failed"
    DISABLED = "disabled"


@dataclass(frozen=True)
class FeedStatus:
    """What to record about a feed after one fetch."""

    health: Health
    next_check: datetime | None
    message: str | None = None
    """The error (failed, disabled) or a note kept beside a success (a move, a lenient
    parse)."""
    outcome: str = "ok"
    """The fetch's outcome label (metrics): ok, not-modified, http-4xx, gone, …"""
    moved_to: str | None = None
    """The new URL after a permanent redirect (301/308)."""
    error_count: int = 0
    """Consecutive failures including this one."""


def moved_to(feed: FeedToPoll, result: FetchResult) -> str | None:
    """The new URL after a permanent redirect (fetch follows only those for good)."""
    return result.final_url if result.final_url != feed.fetch_url else None


def _moved_note(moved: str | None) -> str | None:
    return f"moved permanently to {moved}; now fetched from there" if moved else None


def after_failure(
    feed: FeedToPoll, error: AggregatorError, interval: float, now: datetime
) -> FeedStatus:
    message = str(getattr(error, "message", None) or error)
    outcome = outcome_of(error)
    if outcome == "gone":
        # 410: the publisher says the feed will never come back; stop asking.
        return FeedStatus(
            Health.DISABLED,
            None,
            f"{message}: the feed is gone; disabled (re-add it to poll again)",
            outcome,
            error_count=feed.error_count + 1,
        )
    headers = error.headers if isinstance(error, FetchError) else {}
    errors = feed.error_count + 1
    return FeedStatus(
        Health.FAILED,
        next_check_after_error(now, interval, errors, headers),
        message,
        outcome,
        error_count=errors,
    )


def after_success(
    feed: FeedToPoll,
    result: FetchResult,
    interval: float,
    now: datetime,
    ttl_minutes: int | None,
    warning: str | None = None,
) -> FeedStatus:
    """A 304, or a document stored (``ttl_minutes``: the feed's ``<ttl>``, this one's or,
    for a 304, the last one seen)."""
    moved = moved_to(feed, result)
    notes = [n for n in (warning, _moved_note(moved)) if n]
    health = Health.NOT_MODIFIED if result.not_modified else Health.OK
    return FeedStatus(
        health,
        next_check_after_success(now, interval, result.headers, ttl_minutes),
        "; ".join(notes) or None,
        health.value,
        moved_to=moved,
    )


def skipped_note(skipped: Sequence[SkippedItem]) -> str | None:
    """What the feed's status says of entries the database refused: how many, and why
    (the first reason; another reason is only mentioned)."""
    if not skipped:
        return None
    reasons = list(dict.fromkeys(s.reason for s in skipped))
    more = f" (and {len(reasons) - 1} other reasons)" if len(reasons) > 1 else ""
    noun = "item" if len(skipped) == 1 else "items"
    return f"{len(skipped)} {noun} skipped: {reasons[0]}{more}"
