"""``clusters explain`` on the web: ``/api/items/{id}/explain`` (JSON) and
``/items/{id}/explain`` (a page), each with ``?with=OTHER`` to compare two items.

Both answer with :func:`aggregator.ingest.explain.explain`, the command's own function, so
the web, the command line and the engine name one rule for one pair: template stories
("their first sentences differ only in the words of a template's slots"), digests
("holds the leads of 4 other stories"), a teaser found in a story's lead.  The digest
check reads the fingerprints of the items published within a day of each (the command:
within the dedup window), one request at a time; the cluster page links here rather than
running it on every view.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Route

from aggregator.errors import AggregatorError
from aggregator.ingest.explain import Explanation, explain
from aggregator.ingest.state import dedup_params
from aggregator.publish.api import feed_ref, path_id
from aggregator.publish.context import feeds_by_id, storage_of
from aggregator.publish.pages import render
from aggregator.publish.query import optional_id
from aggregator.publish.redact import redact_url
from aggregator.publish.views import explanation_dict, item_dict
from aggregator.types import ItemView

DIGEST_WINDOW = timedelta(days=1)
"""Published this close to an item, the stories a web explanation looks for in it (a
briefing holds the day's leads): the check reads each of their fingerprints, about 60 µs
an item, and anyone may ask for it."""
_SCANNING = threading.BoundedSemaphore(1)
"""One digest check at a time per process: a visitor asking for many explanations at
once waits for none and costs one window's read at a time."""


def _explanation(request: Request) -> tuple[list[int], Explanation, bool]:
    """The explanation, and whether the digest check ran (another request's was running:
    skipped rather than queued)."""
    item_ids = [path_id(request, "item_id", "item")]
    other = optional_id(request, "with")
    if other is not None and other != item_ids[0]:
        item_ids.append(other)
    storage = storage_of(request)
    model = request.app.state.boilerplate.get(storage)
    params = dedup_params(request.app.state.settings.dedup)
    scanning = _SCANNING.acquire(blocking=False)
    try:
        explanation = explain(
            storage,
            model,
            params,
            item_ids,
            find_digests=scanning,
            digest_window=DIGEST_WINDOW,
        )
    except AggregatorError as exc:  # an id that names no stored item
        raise HTTPException(404, str(exc)) from exc
    finally:
        if scanning:
            _SCANNING.release()
    return item_ids, explanation, scanning


def _report(request: Request, explanation: Explanation) -> dict[str, Any]:
    feeds = feeds_by_id(storage_of(request))

    def entry(item: ItemView) -> dict[str, Any]:
        return {
            **item_dict(item),
            "feed_url": redact_url(item.feed_url),
            "feed": feed_ref(feeds.get(item.feed_id), item.feed_url),
        }

    return explanation_dict(explanation, entry)


def explain_api(request: Request) -> JSONResponse:
    _, explanation, checked = _explanation(request)
    return JSONResponse({**_report(request, explanation), "digests_checked": checked})


def explain_page(request: Request) -> HTMLResponse:
    item_ids, explanation, checked = _explanation(request)
    report = _report(request, explanation)
    return render(
        request,
        "explain.html",
        {
            "item_ids": item_ids,
            "items": report["items"],
            "comparison": report.get("comparison"),
            "digests_checked": checked,
        },
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/api/items/{item_id:int}/explain", explain_api),
        Route("/items/{item_id:int}/explain", explain_page),
    ]
