"""Search over stories on the web: ``GET /api/search?q=`` (JSON) and ``GET /search?q=``
(the results page the search box of every page leads to).

``q`` is words, never syntax: quotes and operators find what their words find (see
:mod:`aggregator.storage.fulltext`).  Pages of results: ``limit`` and ``offset``, with a
``next`` link while more stories match; no total (counting every match is what the
search itself avoids).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Route

from aggregator.publish.context import feeds_by_id, storage_of
from aggregator.publish.query import bad_request, int_param, text_param
from aggregator.publish.reasons import feed_label
from aggregator.publish.redact import redact_url
from aggregator.publish.views import search_hit_dict
from aggregator.storage.fulltext import MAX_RANKED
from aggregator.types import FeedView, SearchHit

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_OFFSET = MAX_RANKED
"""No story lies deeper: a search ranks this many matching items at most."""


def _page(request: Request) -> tuple[str | None, int, int]:
    query = text_param(request, "q")
    limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = int_param(request, "offset", 0, 0, MAX_OFFSET)
    return query, limit, offset


def _search(request: Request, query: str, limit: int, offset: int) -> tuple[list[SearchHit], bool]:
    """One page of stories, and whether another follows (one story more is asked for)."""
    hits = storage_of(request).search_stories(query, limit=limit + 1, offset=offset)
    return hits[:limit], len(hits) > limit


def _link(request: Request, query: str, limit: int, offset: int) -> str:
    params = {"q": query, **({"limit": str(limit)} if limit != DEFAULT_LIMIT else {})}
    if offset:
        params["offset"] = str(offset)
    return f"{request.url.path}?{urlencode(params)}"


def _feed_name(feeds: dict[int, FeedView], hit: SearchHit) -> str:
    return feed_label(feeds.get(hit.feed_id), hit.feed_url)


def api_search(request: Request) -> JSONResponse:
    query, limit, offset = _page(request)
    if query is None:
        raise bad_request("q", "required: the words to search for")
    hits, more = _search(request, query, limit, offset)
    feeds = feeds_by_id(storage_of(request))
    stories: list[dict[str, Any]] = []
    for hit in hits:
        story = search_hit_dict(hit, _feed_name(feeds, hit))
        story["canonical_item"]["feed_url"] = redact_url(hit.feed_url)
        story["page"] = f"/clusters/{hit.cluster_id}"
        stories.append(story)
    return JSONResponse(
        {
            "query": query,
            "stories": stories,
            "limit": limit,
            "offset": offset,
            "next": _link(request, query, limit, offset + limit) if more else None,
        }
    )


def search_page(request: Request) -> HTMLResponse:
    # Imported here: the pages module reads the OpenAPI description, which reads the
    # limits above.
    from aggregator.publish.pages import render

    query, limit, offset = _page(request)
    hits: list[SearchHit] = []
    more = False
    if query:
        hits, more = _search(request, query, limit, offset)
    feeds = feeds_by_id(storage_of(request))
    return render(
        request,
        "search.html",
        {
            "search_query": query or "",
            "rows": [{"hit": h, "feed": _feed_name(feeds, h)} for h in hits],
            "offset": offset,
            "next_link": _link(request, query, limit, offset + limit) if query and more else None,
            "prev_link": _link(request, query, limit, max(0, offset - limit))
            if query and offset
            else None,
        },
    )


def routes() -> list[BaseRoute]:
    return [Route("/api/search", api_search), Route("/search", search_page)]
