"""Plain-data views of stored values, shared by the CLI and the JSON API."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aggregator.types import ClusterView, FeedView, ItemView, SearchHit

if TYPE_CHECKING:
    from aggregator.dedup.rules import Verdict
    from aggregator.ingest.explain import Explanation


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, or None."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def item_dict(item: ItemView) -> dict[str, Any]:
    return {
        "id": item.id,
        "feed_url": item.feed_url,
        "guid": item.guid,
        "link": item.link,
        "canonical_link": item.canonical_link,
        "title": item.title,
        "author": item.author,
        "authors": [{"name": a.name, "email": a.email, "url": a.url} for a in item.authors],
        "published": iso(item.published),
        "is_summary": item.is_summary,
        "cluster_id": item.cluster_id,
        "canonical": item.canonical,
        "method": item.method,
        "score": item.score,
    }


def feed_dict(feed: FeedView) -> dict[str, Any]:
    return {
        "id": feed.id,
        "url": feed.url,
        "fetch_url": feed.fetch_url,
        "name": feed.name,
        "title": feed.title,
        "group": feed.group,
        "priority": feed.priority,
        "disabled": feed.disabled,
        "items": feed.item_count,
        "last_checked": iso(feed.last_checked),
        "last_success": iso(feed.last_success),
        "last_error": feed.last_error,
        "error_count": feed.error_count,
        "next_check": iso(feed.next_check),
    }


def cluster_dict(cluster: ClusterView) -> dict[str, Any]:
    canonical = next((m for m in cluster.members if m.id == cluster.canonical_item_id), None)
    return {
        "id": cluster.id,
        "size": cluster.size,
        "feed_count": cluster.feed_count,
        "canonical_item": None
        if canonical is None
        else {
            "id": canonical.id,
            "feed_url": canonical.feed_url,
            "guid": canonical.guid,
            "title": canonical.title,
            "link": canonical.link,
            "published": iso(canonical.published),
        },
        "note": cluster.note,
        "members": [
            {
                "id": m.id,
                "feed_url": m.feed_url,
                "guid": m.guid,
                "title": m.title,
                "link": m.link,
                "published": iso(m.published),
                "is_summary": m.is_summary,
                "canonical": m.canonical,
                "method": m.method,
                "score": m.score,
            }
            for m in cluster.members
        ],
    }


def search_hit_dict(hit: SearchHit, feed_name: str) -> dict[str, Any]:
    """A story found by a search: its cluster, its canonical item (with its feed, named
    ``feed_name`` as the caller shows feeds), and the snippet of the item that matched
    best."""
    return {
        "cluster_id": hit.cluster_id,
        "size": hit.size,
        "canonical_item": {
            "id": hit.canonical_item_id,
            "feed_url": hit.feed_url,
            "feed": {"id": hit.feed_id, "name": feed_name},
            "title": hit.title,
            "link": hit.link,
            "published": iso(hit.published),
        },
        "matched_item_id": hit.matched_item_id,
        "snippet": hit.snippet_text,
    }


def table(
    rows: Sequence[Sequence[object]], headers: Sequence[str], widths: dict[int, int] | None = None
) -> str:
    """A plain-text table; long cells are cut to the given widths with an ellipsis."""
    widths = widths or {}

    def cell(value: object, column: int) -> str:
        text = "" if value is None else str(value).replace("\n", " ")
        limit = widths.get(column)
        if limit and len(text) > limit:
            text = text[: limit - 1] + "…"
        return text

    cells = [[cell(v, i) for i, v in enumerate(row)] for row in rows]
    sizes = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = [
        "  ".join(h.ljust(sizes[i]) for i, h in enumerate(headers)).rstrip(),
        "  ".join("-" * s for s in sizes),
    ]
    lines += ["  ".join(c.ljust(sizes[i]) for i, c in enumerate(r)).rstrip() for r in cells]
    return "\n".join(lines)


def verdict_dict(verdict: Verdict) -> dict[str, Any]:
    """A rules verdict: the edge (``method``, None for none), its score and the reason."""
    out: dict[str, Any] = {
        "method": verdict.method,
        "score": round(verdict.score, 4),
        "rule": verdict.reason,
    }
    m = verdict.match
    if m is not None:
        out.update(
            {
                "jaccard": round(m.jaccard, 4),
                "containment": round(m.containment, 4),
                "lead_containment": round(m.lead_containment, 4),
                "shorter_shingles": m.shorter,
                "longer_shingles": m.longer,
            }
        )
    return out


def explanation_dict(
    explanation: Explanation, item_entry: Callable[[ItemView], dict[str, Any]] = item_dict
) -> dict[str, Any]:
    """``clusters explain`` as plain data: each item with its evidence, and for two items
    the comparison the rules make.  ``item_entry`` gives an item's own fields (the web face
    passes one that redacts its feed's address)."""
    items = []
    for e in explanation.items:
        entry = item_entry(e.item)
        entry.update(
            {
                "matched_item_id": e.matched_item_id,
                "words": e.words,
                "shingles": e.shingles,
                "boilerplate_removed": list(e.boilerplate_removed),
                "membership": {**verdict_dict(e.membership), "agrees": e.agrees},
            }
        )
        items.append(entry)
    report: dict[str, Any] = {"items": items}
    digests = {d.item_id: d for d in explanation.digests}
    for entry in items:
        digest = digests.get(entry["id"])
        if digest is not None:
            entry["digest"] = {
                "clusters": list(digest.stories),
                "undecided_items": list(digest.undecided),
                "rule": digest.reason,
            }
    if explanation.comparison is not None:
        report["comparison"] = {
            **verdict_dict(explanation.comparison),
            "same_cluster": explanation.same_cluster,
        }
        if digests:
            report["comparison"]["digest"] = " ".join(d.reason for d in digests.values())
    return report
