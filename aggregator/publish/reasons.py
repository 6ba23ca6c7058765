"""Why a cluster looks as it does, in words, for the API and the cluster page.  Pure.

The canonical rule is :func:`aggregator.dedup.rules.canonical_rank`, the order the engine
applies; here it is stated for the actual members, naming the criterion that decided.
Each member's method (:class:`~aggregator.dedup.rules.Method`) and score become a
sentence naming the member it was matched to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aggregator.config import DedupConfig
from aggregator.dedup.rules import CANONICAL_RULE, Method, canonical_rank
from aggregator.publish.redact import redact_url
from aggregator.types import FeedView, ItemView

_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Member:
    """A member with what the rule compares: its feed's priority and its sort time."""

    item: ItemView
    feed: FeedView | None
    sort_time: datetime | None
    matched_item_id: int | None = None

    @property
    def priority(self) -> int:
        return self.feed.priority if self.feed is not None else 0

    @property
    def source(self) -> str:
        return feed_label(self.feed, self.item.feed_url)


def feed_label(feed: FeedView | None, fallback: str) -> str:
    """What a person calls a feed: its configured name, its own title, else its URL
    (without credentials: labels are published)."""
    if feed is None:
        return redact_url(fallback) or ""
    return feed.name or feed.title or redact_url(feed.url) or ""


def _rank(m: Member) -> tuple[bool, int, datetime, int]:
    return canonical_rank(m.item.is_summary, m.priority, m.sort_time or _NEVER, m.item.id)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "an unknown time"


def _ids(members: Sequence[Member]) -> str:
    return ", ".join(str(m.item.id) for m in members)


def canonical_reason(members: Sequence[Member]) -> dict[str, str]:
    """``{"rule", "decided_by", "explanation"}`` for the members of one cluster.

    ``decided_by`` is ``only-copy``, ``full-text``, ``priority``, ``earliest``, ``id``, or
    ``correction`` when the stored canonical item is not the one the rule picks now.
    """
    if not members:
        return {
            "rule": CANONICAL_RULE,
            "decided_by": "only-copy",
            "explanation": "The cluster has no members.",
        }
    actual = next((m for m in members if m.item.canonical), None)
    ordered = sorted(members, key=_rank)
    chosen = ordered[0]
    who = f"Item {chosen.item.id} ({chosen.source})"
    if len(members) == 1:
        return {
            "rule": CANONICAL_RULE,
            "decided_by": "only-copy",
            "explanation": f"{who} is the only copy.",
        }
    if actual is not None and actual.item.id != chosen.item.id:
        return {
            "rule": CANONICAL_RULE,
            "decided_by": "correction",
            "explanation": f"Item {actual.item.id} ({actual.source}) is canonical; the "
            f"rule would now pick item {chosen.item.id} ({chosen.source}): the cluster "
            "changed since it was decided.",
        }
    rivals = list(ordered[1:])
    summaries = [m for m in rivals if m.item.is_summary]
    if not chosen.item.is_summary and summaries and len(summaries) == len(rivals):
        return {
            "rule": CANONICAL_RULE,
            "decided_by": "full-text",
            "explanation": f"{who} is the only full-text copy; "
            f"item{'s' if len(summaries) > 1 else ''} {_ids(summaries)} "
            f"{'are summaries' if len(summaries) > 1 else 'is a summary'}.",
        }
    rivals = [m for m in rivals if m.item.is_summary == chosen.item.is_summary]
    kind = "summaries" if chosen.item.is_summary else "full-text copies"
    lower = [m for m in rivals if m.priority < chosen.priority]
    if lower and len(lower) == len(rivals):
        others = sorted({m.priority for m in lower}, reverse=True)
        return {
            "rule": CANONICAL_RULE,
            "decided_by": "priority",
            "explanation": f"{who} comes from the feed with the highest priority among "
            f"the {kind} ({chosen.priority}; the others have "
            f"{', '.join(map(str, others))}).",
        }
    rivals = [m for m in rivals if m.priority == chosen.priority]
    later = [
        m for m in rivals if m.sort_time and chosen.sort_time and m.sort_time > chosen.sort_time
    ]
    if later and len(later) == len(rivals):
        runner_up = min(later, key=_rank)
        return {
            "rule": CANONICAL_RULE,
            "decided_by": "earliest",
            "explanation": f"{who} was published first among the {kind} of priority "
            f"{chosen.priority}: {_when(chosen.sort_time)}, before item "
            f"{runner_up.item.id} at {_when(runner_up.sort_time)}.",
        }
    return {
        "rule": CANONICAL_RULE,
        "decided_by": "id",
        "explanation": f"{who} ties with item{'s' if len(rivals) > 1 else ''} "
        f"{_ids(rivals)} on text, priority and time; the lowest id wins.",
    }


def membership_reason(member: Member, dedup: DedupConfig) -> str:
    """Why this item is in its cluster: the method, its score and the member it matched."""
    item, other = member.item, member.matched_item_id
    score = item.score if item.score is not None else 1.0
    to = f"item {other}" if other is not None else "another member"
    method = Method(item.method or Method.SINGLE)
    match method:
        case Method.URL:
            return f"Same link as {to} once tracking parameters are removed."
        case Method.CONTENT_HASH:
            return f"Same text as {to} once boilerplate (footers, sponsor lines) is removed."
        case Method.MINHASH if score < dedup.threshold:
            # rules.grown_update: under the threshold, only an update earns this edge.
            return (
                f"An update of {to}, or {to} of it: it keeps most of the story's text "
                f"({score:.0%} of their word 3-shingles shared, under the "
                f"{dedup.threshold:.0%} threshold for copies)."
            )
        case Method.MINHASH:
            return (
                f"{score:.0%} of its word 3-shingles are shared with {to} (Jaccard "
                f"similarity; the threshold is {dedup.threshold:.0%})."
            )
        case Method.CONTAINMENT:
            return (
                f"A shorter copy: {score:.0%} of its text is the beginning of {to} "
                f"(the threshold is {dedup.containment:.0%})."
            )
        case Method.MANUAL:
            return "Placed here by a correction (aggregator clusters split/merge)" + (
                f", with {to}." if other is not None else "."
            )
        case Method.SINGLE:
            return "The first copy of the story; the others were matched to it or to each other."


def members_of(
    items: Sequence[ItemView],
    feeds: Mapping[int, FeedView],
    evidence: Mapping[int, tuple[int | None, datetime]],
) -> list[Member]:
    """Join a cluster's items with their feeds and stored evidence."""
    out = []
    for item in items:
        matched, sort_time = evidence.get(item.id, (None, item.published))
        out.append(
            Member(
                item=item,
                feed=feeds.get(item.feed_id),
                sort_time=sort_time,
                matched_item_id=matched,
            )
        )
    return out
