"""The pure parts of the cluster page: what differs between copies, and the reasons."""

from __future__ import annotations

from datetime import UTC, datetime

from aggregator.config import DedupConfig
from aggregator.publish.diff import Copy, compare_copies
from aggregator.publish.reasons import Member, canonical_reason, membership_reason
from aggregator.types import FeedView, ItemView

STORY = (
    "The council approved the new bike lanes on Fenwick Avenue on Monday night.\n"
    "Work starts in March and should take about six weeks.\n"
    "Residents asked for more crossings near the school."
)


def _sponsor(block: str) -> bool:
    return block.lower().startswith(("sponsored by", "read more", "follow our"))


def test_copies_are_compared_with_the_canonical_copy() -> None:
    reference = Copy(
        1, "Council Approves Bike Lanes - Daily News", STORY + "\nSponsored by Acme\nRead more"
    )
    copy = Copy(
        2,
        "council approves bike lanes",
        STORY.replace("six weeks", "seven weeks") + "\nFollow our other sites",
    )
    summary = Copy(3, "Council Approves Bike Lanes", STORY.split("\n")[0] + " […]")
    ref, changed, short = compare_copies(reference, [reference, copy, summary], _sponsor)

    assert ref.reference and ref.boilerplate_blocks == 2
    assert [b.kind for b in ref.blocks] == ["story"] * 3 + ["boilerplate"] * 2

    assert not changed.reference and changed.boilerplate_blocks == 1
    marked = [s.text for b in changed.blocks for s in b.spans if s.kind == "changed"]
    assert marked == ["seven"]
    assert changed.changed_words == 1 and changed.missing_words == 1
    # Titles: case changes are shown as changes, the reference's suffix as removed.
    assert [(s.kind, s.text) for s in changed.title] == [
        ("changed", "council approves bike lanes"),
        ("removed", "- Daily News"),
    ]

    assert short.missing_words > 10
    spans = [s for b in short.blocks for s in b.spans]
    assert any(s.kind == "missing" for s in spans)  # the rest of the story is not there
    assert not short.identical and not changed.identical


def test_typography_alone_is_not_a_difference() -> None:
    reference = Copy(1, "A", "It's the “best” day — ever.")
    curly = Copy(2, "A", 'It’s the "best" day - ever.')
    _, other = compare_copies(reference, [curly], lambda _: False)
    assert other.identical


def _view(
    item_id: int,
    feed_id: int,
    *,
    summary: bool = False,
    canonical: bool = False,
    method: str = "minhash",
    score: float = 0.8,
) -> ItemView:
    return ItemView(
        id=item_id,
        feed_id=feed_id,
        feed_url=f"f{feed_id}",
        guid=str(item_id),
        link=None,
        canonical_link=None,
        title="t",
        author=None,
        published=None,
        updated=None,
        is_summary=summary,
        cluster_id=1,
        canonical=canonical,
        method=method,
        score=score,
    )


def _feed(feed_id: int, priority: int) -> FeedView:
    return FeedView(
        id=feed_id,
        url=f"f{feed_id}",
        fetch_url=f"f{feed_id}",
        name=f"Feed {feed_id}",
        title=None,
        group=None,
        priority=priority,
        disabled=False,
        etag=None,
        last_modified=None,
        last_checked=None,
        last_success=None,
        last_error=None,
        error_count=0,
        next_check=None,
    )


def _at(hour: int) -> datetime:
    return datetime(2026, 11, 20, hour, tzinfo=UTC)


def test_the_canonical_reason_names_the_deciding_criterion() -> None:
    full = Member(_view(1, 1, canonical=True), _feed(1, 0), _at(9))
    summary = Member(_view(2, 2, summary=True), _feed(2, 5), _at(6))
    assert canonical_reason([full, summary])["decided_by"] == "full-text"

    high = Member(_view(3, 3, canonical=True), _feed(3, 2), _at(12))
    low = Member(_view(4, 4), _feed(4, 0), _at(6))
    reason = canonical_reason([low, high])
    assert reason["decided_by"] == "priority" and "Item 3 (Feed 3)" in reason["explanation"]

    early = Member(_view(5, 5, canonical=True), _feed(5, 0), _at(6))
    late = Member(_view(6, 6), _feed(6, 0), _at(9))
    reason = canonical_reason([late, early])
    assert reason["decided_by"] == "earliest" and "2026-11-20 06:00 UTC" in reason["explanation"]

    tie = Member(_view(7, 7), _feed(7, 0), _at(6))
    assert canonical_reason([early, tie])["decided_by"] == "id"
    # The stored canonical is not the rule's pick (e.g. priorities changed since).
    assert (
        canonical_reason(
            [
                Member(_view(8, 8, canonical=True), _feed(8, 0), _at(9)),
                Member(_view(9, 9), _feed(9, 0), _at(6)),
            ]
        )["decided_by"]
        == "correction"
    )


def test_membership_reasons_state_method_score_and_match() -> None:
    dedup = DedupConfig()
    minhash = Member(_view(1, 1, method="minhash", score=0.83), None, None, matched_item_id=7)
    assert membership_reason(minhash, dedup).startswith("83% of its word 3-shingles")
    assert "item 7" in membership_reason(minhash, dedup)
    lead = Member(_view(2, 1, method="containment", score=0.95), None, None, matched_item_id=7)
    assert "beginning of item 7" in membership_reason(lead, dedup)
    manual = Member(_view(3, 1, method="manual"), None, None)
    assert "correction" in membership_reason(manual, dedup)
