"""Routes of the subscribable output: /feed.rss, /feed.atom, /feed.json and /opml.

Query: ``limit`` (1–500, default 50), ``group`` (a feed group from the config: stories
that appeared in that group), ``feed`` (a feed id), ``since``/``until`` (ISO 8601, on the
canonical item's time).  Every response carries an ETag and Last-Modified and answers a
matching conditional request with 304.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from aggregator.publish.context import base_url, feeds_by_id, storage_of
from aggregator.publish.formats import (
    Copy,
    Entry,
    FeedMeta,
    render_atom,
    render_json_feed,
    render_rss,
)
from aggregator.publish.http_cache import conditional_response
from aggregator.publish.opml import render_opml
from aggregator.publish.query import Filters, filters, int_param
from aggregator.publish.reasons import feed_label
from aggregator.storage import Storage

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

Renderer = Callable[[FeedMeta, Sequence[Entry]], bytes]


def load_entries(storage: Storage, site: str, found: Filters, limit: int) -> list[Entry]:
    """The newest clusters matching the filters, each with its canonical item's content."""
    clusters, _total = storage.cluster_page(
        group=found.group, feed_id=found.feed_id, since=found.since, until=found.until, limit=limit
    )
    canonical_ids = [c.canonical_item_id for c in clusters if c.canonical_item_id is not None]
    contents = (
        {i.id: i for i in storage.list_items(item_ids=canonical_ids, with_content=True)}
        if canonical_ids
        else {}
    )
    feeds = feeds_by_id(storage)
    entries = []
    for cluster in clusters:
        canonical = contents.get(cluster.canonical_item_id or -1)
        if canonical is None:  # a cluster caught between two writes: skip it this time
            continue
        copies = tuple(
            Copy(m, feed_label(feeds.get(m.feed_id), m.feed_url))
            for m in cluster.members
            if m.id != canonical.id
        )
        entries.append(
            Entry(
                cluster=cluster,
                canonical=canonical,
                source=feed_label(feeds.get(canonical.feed_id), canonical.feed_url),
                copies=copies,
                page_url=f"{site}/clusters/{cluster.id}",
            )
        )
    return entries


def _meta(request: Request, storage: Storage, found: Filters) -> FeedMeta:
    site = base_url(request)
    title = "aggregator: one entry per story"
    if found.group:
        title += f" (group {found.group})"
    return FeedMeta(
        title=title,
        description="Syndicated copies collapsed: each entry is one story, its best copy, "
        "and where else it appeared.",
        self_url=str(request.url),
        home_url=f"{site}/clusters",
        updated=storage.last_cluster_change(),
        about_url=f"{site}/api/docs#jsonfeed-extension",
    )


def _feed_endpoint(render: Renderer, media_type: str) -> Callable[[Request], Response]:
    def endpoint(request: Request) -> Response:
        found = filters(request)
        limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        storage = storage_of(request)
        meta = _meta(request, storage, found)
        body = render(meta, load_entries(storage, base_url(request), found, limit))
        return conditional_response(request, body, media_type, meta.updated)

    return endpoint


def opml(request: Request) -> Response:
    storage = storage_of(request)
    body = render_opml(storage.list_feeds(), title="aggregator subscriptions")
    return conditional_response(request, body, "text/x-opml; charset=utf-8", None)


def routes() -> list[BaseRoute]:
    return [
        Route("/feed.rss", _feed_endpoint(render_rss, "application/rss+xml; charset=utf-8")),
        Route("/feed.atom", _feed_endpoint(render_atom, "application/atom+xml; charset=utf-8")),
        Route("/feed.json", _feed_endpoint(render_json_feed, "application/feed+json")),
        Route("/opml", opml),
    ]
