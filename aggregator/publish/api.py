"""The JSON API (read side): /api/items, /api/clusters, /api/clusters/{id}, /api/feeds.

Lists are pages: ``limit`` (1–500, default 50) and ``offset``, with ``total`` and a
``next`` link.  Errors are JSON objects ``{"error": {"status", "message"}}`` (see
:mod:`aggregator.publish.app`).  The OpenAPI description is in
:mod:`aggregator.publish.openapi`; keep both in step (a test checks the responses
against it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from aggregator.publish.context import feeds_by_id, public_feeds, storage_of
from aggregator.publish.entries import Cleaning, published_summary
from aggregator.publish.feedhealth import feed_health
from aggregator.publish.feeds import cleaning_of
from aggregator.publish.query import (
    MAX_ID,
    filters,
    int_param,
    optional_id,
    page_params,
)
from aggregator.publish.reasons import (
    canonical_reason,
    feed_label,
    members_of,
    membership_reason,
)
from aggregator.publish.redact import redact_url
from aggregator.publish.views import iso, item_dict
from aggregator.storage import Storage
from aggregator.types import ClusterView, FeedView, ItemView


def _next_link(request: Request, total: int, limit: int, offset: int) -> str | None:
    if offset + limit >= total:
        return None
    params = dict(request.query_params)
    params.update(limit=str(limit), offset=str(offset + limit))
    return f"{request.url.path}?{urlencode(params)}"


def feed_ref(feed: FeedView | None, url: str) -> dict[str, Any]:
    """An item's feed as the API shows it: its address without credentials."""
    if feed is None:
        shown = redact_url(url)
        return {"id": None, "name": shown, "url": shown, "group": None, "priority": 0}
    return {
        "id": feed.id,
        "name": feed_label(feed, url),
        "url": feed.url,
        "group": feed.group,
        "priority": feed.priority,
    }


def _item(item: ItemView, feeds: dict[int, FeedView], cleaning: Cleaning) -> dict[str, Any]:
    return {
        **item_dict(item),
        "feed_url": redact_url(item.feed_url),
        "feed": feed_ref(feeds.get(item.feed_id), item.feed_url),
        # Cleaned as the feeds publish it; the content itself is the feeds' to carry.
        "summary_html": published_summary(item, cleaning) or None,
    }


def cluster_summary(cluster: ClusterView, feeds: dict[int, FeedView]) -> dict[str, Any]:
    canonical = next((m for m in cluster.members if m.id == cluster.canonical_item_id), None)
    return {
        "id": cluster.id,
        "size": cluster.size,
        "feed_count": cluster.feed_count,
        "updated": iso(cluster.updated),
        "canonical_item": None
        if canonical is None
        else {
            "id": canonical.id,
            "title": canonical.title,
            "link": canonical.link,
            "published": iso(canonical.published),
            "feed": feed_ref(feeds.get(canonical.feed_id), canonical.feed_url),
        },
        "sources": sorted({feed_label(feeds.get(m.feed_id), m.feed_url) for m in cluster.members}),
        "methods": sorted({m.method for m in cluster.members if m.method} - {"single"}),
        "links": {"self": f"/api/clusters/{cluster.id}", "page": f"/clusters/{cluster.id}"},
    }


def cluster_detail(storage: Storage, cluster: ClusterView, request: Request) -> dict[str, Any]:
    feeds = feeds_by_id(storage)
    evidence = storage.membership_evidence([m.id for m in cluster.members])
    members = members_of(cluster.members, feeds, evidence)
    dedup = request.app.state.settings.dedup
    return {
        **cluster_summary(cluster, feeds),
        "created": iso(cluster.created),
        "note": cluster.note,
        "canonical_item_id": cluster.canonical_item_id,
        "canonical_reason": canonical_reason(members),
        "members": [
            {
                "id": m.item.id,
                "feed": feed_ref(m.feed, m.item.feed_url),
                "guid": m.item.guid,
                "link": m.item.link,
                "title": m.item.title,
                "published": iso(m.item.published),
                "is_summary": m.item.is_summary,
                "canonical": m.item.canonical,
                "method": m.item.method,
                "score": m.item.score,
                "matched_item_id": m.matched_item_id,
                "reason": membership_reason(m, dedup),
            }
            for m in members
        ],
    }


def list_items(request: Request) -> JSONResponse:
    found = filters(request)
    limit, offset = page_params(request)
    cluster_id = optional_id(request, "cluster")
    storage = storage_of(request)
    items, total = storage.item_page(
        group=found.group,
        feed_id=found.feed_id,
        cluster_id=cluster_id,
        since=found.since,
        until=found.until,
        limit=limit,
        offset=offset,
    )
    feeds = feeds_by_id(storage)
    cleaning = cleaning_of(request, full=False)
    return JSONResponse(
        {
            "total": total,
            "limit": limit,
            "offset": offset,
            "next": _next_link(request, total, limit, offset),
            "items": [_item(i, feeds, cleaning) for i in items],
        }
    )


def list_clusters(request: Request) -> JSONResponse:
    found = filters(request)
    limit, offset = page_params(request)
    min_size = int_param(request, "min_size", 1, 1, 10_000)
    storage = storage_of(request)
    clusters, total = storage.cluster_page(
        min_size=min_size,
        group=found.group,
        feed_id=found.feed_id,
        since=found.since,
        until=found.until,
        limit=limit,
        offset=offset,
    )
    feeds = feeds_by_id(storage)
    return JSONResponse(
        {
            "total": total,
            "limit": limit,
            "offset": offset,
            "next": _next_link(request, total, limit, offset),
            "clusters": [cluster_summary(c, feeds) for c in clusters],
        }
    )


def path_id(request: Request, name: str, what: str) -> int:
    value = request.path_params[name]
    if not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise HTTPException(404, f"no {what} {value}")
    return value


def get_cluster(request: Request) -> JSONResponse:
    cluster_id = path_id(request, "cluster_id", "cluster")
    storage = storage_of(request)
    cluster = storage.get_cluster(cluster_id)
    if cluster is None:
        raise HTTPException(404, f"no cluster {cluster_id}")
    return JSONResponse(cluster_detail(storage, cluster, request))


def list_feeds(request: Request) -> JSONResponse:
    return JSONResponse({"feeds": [feed_health(f) for f in public_feeds(storage_of(request))]})


def routes() -> list[BaseRoute]:
    return [
        Route("/api/items", list_items),
        Route("/api/clusters", list_clusters),
        Route("/api/clusters/{cluster_id:int}", get_cluster),
        Route("/api/feeds", list_feeds),
    ]
