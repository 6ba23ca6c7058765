"""Routes of the subscribable output: /feed.rss, /feed.atom, /feed.json and /opml.

Query: ``limit`` (1–500, default 50), ``group`` (a feed group from the config: stories
that appeared in that group), ``feed`` (a feed id, or several separated by commas: a
feed set), ``since``/``until`` (ISO 8601, on the canonical item's time), ``full`` (``1``:
the content and titles as the sources wrote them, not cleaned).  Every response carries an
ETag and Last-Modified and answers a matching conditional request with 304.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from aggregator.config import Settings
from aggregator.publish.context import base_url, feeds_by_id, public_feeds, storage_of
from aggregator.publish.entries import Cleaning, build_entries
from aggregator.publish.formats import (
    Entry,
    FeedMeta,
    render_atom,
    render_json_feed,
    render_rss,
)
from aggregator.publish.http_cache import conditional_response
from aggregator.publish.opml import render_opml
from aggregator.publish.query import Filters, feed_filters, flag_param, id_list_param, int_param
from aggregator.publish.reasons import feed_label
from aggregator.storage import Storage

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

Renderer = Callable[[FeedMeta, Sequence[Entry]], bytes]


def load_entries(
    storage: Storage,
    site: str,
    found: Filters,
    limit: int,
    cleaning: Cleaning,
    feed_ids: Sequence[int] | None = None,
) -> list[Entry]:
    """The newest clusters matching the filters, each with its canonical item's content."""
    clusters, _total = storage.cluster_page(
        group=found.group,
        feed_id=found.feed_id,
        feed_ids=feed_ids,
        since=found.since,
        until=found.until,
        limit=limit,
    )
    canonical_ids = [c.canonical_item_id for c in clusters if c.canonical_item_id is not None]
    contents = (
        {i.id: i for i in storage.list_items(item_ids=canonical_ids, with_content=True)}
        if canonical_ids
        else {}
    )
    return build_entries(clusters, contents, feeds_by_id(storage), site, cleaning)


def cleaning_of(request: Request, full: bool) -> Cleaning:
    """The cleaning the app's models and the config's ``clean: false`` feeds ask for."""
    storage = storage_of(request)
    settings: Settings = request.app.state.settings
    model = request.app.state.boilerplate.get(storage)
    return Cleaning(
        is_learned=model.is_learned,
        affixes=request.app.state.title_affixes.get(storage),
        raw_feed_urls=frozenset(f.url for f in settings.feeds if not f.clean),
        full=full,
        max_bytes=settings.server.max_item_bytes,
    )


def _meta(
    request: Request,
    storage: Storage,
    found: Filters,
    feed_ids: Sequence[int] | None,
    updated: datetime | None,
) -> FeedMeta:
    site = base_url(request)
    title = "aggregator: one entry per story"
    if found.group:
        title += f" (group {found.group})"
    if feed_ids:
        names = feeds_by_id(storage)
        title += " (" + ", ".join(feed_label(names.get(i), f"feed {i}") for i in feed_ids) + ")"
    return FeedMeta(
        title=title,
        description="Syndicated copies collapsed: each entry is one story, its best copy, "
        "and where else it appeared.",
        self_url=str(request.url),
        home_url=f"{site}/clusters",
        updated=updated,
        about_url=f"{site}/api/docs#jsonfeed-extension",
    )


RENDER_TTL = 60.0
"""Seconds a rendered feed is served again without rendering: a new decision or
correction renders it at once (the key holds the last cluster change); an edited item's
content or a renamed feed shows within this time."""
RENDER_CACHE_BYTES = 64 * 1024 * 1024
"""Rendered feeds kept at most, in bytes (the oldest go first)."""


@dataclass
class RenderCache:
    """Rendered feeds by query, and the lock that lets a process render one at a time.

    A large feed costs many times its size while it is built (content read, cleaned,
    serialised); six readers asking at once must not cost six of those.  So a request
    whose feed is not cached waits for the lock, looks again (the request before it may
    have rendered the same query), and renders alone.
    """

    ttl: float = RENDER_TTL
    max_bytes: int = RENDER_CACHE_BYTES
    renders: int = 0
    """How many feeds were rendered (tests and curious operators)."""
    _bodies: OrderedDict[Hashable, tuple[float, bytes]] = field(default_factory=OrderedDict)
    _size: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _render_lock: threading.Lock = field(default_factory=threading.Lock)

    def _get(self, key: Hashable) -> bytes | None:
        with self._lock:
            found = self._bodies.get(key)
            if found is None:
                return None
            if time.monotonic() - found[0] > self.ttl:
                self._drop(key)
                return None
            self._bodies.move_to_end(key)
            return found[1]

    def _drop(self, key: Hashable) -> None:
        _, body = self._bodies.pop(key)
        self._size -= len(body)

    def _put(self, key: Hashable, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self._lock:
            if key in self._bodies:
                self._drop(key)
            self._bodies[key] = (time.monotonic(), body)
            self._size += len(body)
            while self._size > self.max_bytes:
                self._drop(next(iter(self._bodies)))

    def get_or_render(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        body = self._get(key)
        if body is not None:
            return body
        with self._render_lock:
            body = self._get(key)
            if body is None:
                body = render()
                self.renders += 1
                self._put(key, body)
            return body


def _feed_endpoint(render: Renderer, media_type: str) -> Callable[[Request], Response]:
    def endpoint(request: Request) -> Response:
        found = feed_filters(request)
        feed_ids = id_list_param(request, "feed")
        limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        full = flag_param(request, "full")
        storage = storage_of(request)
        updated = storage.last_cluster_change()
        key = (
            request.url.path,
            str(request.url),
            found,
            tuple(feed_ids or ()),
            limit,
            full,
            updated,
        )

        def build() -> bytes:
            meta = _meta(request, storage, found, feed_ids, updated)
            entries = load_entries(
                storage, base_url(request), found, limit, cleaning_of(request, full), feed_ids
            )
            return render(meta, entries)

        cache: RenderCache = request.app.state.feed_cache
        return conditional_response(request, cache.get_or_render(key, build), media_type, updated)

    return endpoint


def opml(request: Request) -> Response:
    storage = storage_of(request)
    body = render_opml(public_feeds(storage), title="aggregator subscriptions")
    return conditional_response(request, body, "text/x-opml; charset=utf-8", None)


def routes() -> list[BaseRoute]:
    return [
        Route("/feed.rss", _feed_endpoint(render_rss, "application/rss+xml; charset=utf-8")),
        Route("/feed.atom", _feed_endpoint(render_atom, "application/atom+xml; charset=utf-8")),
        Route("/feed.json", _feed_endpoint(render_json_feed, "application/feed+json")),
        Route("/opml", opml),
    ]
