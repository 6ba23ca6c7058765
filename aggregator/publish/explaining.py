"""``clusters explain`` on the web: ``/api/items/{id}/explain`` (JSON) and
``/items/{id}/explain`` (a page), each with ``?with=OTHER`` to compare two items.

Both answer with :func:`aggregator.ingest.explain.explain`, the command's own function, so
the web, the command line and the engine name one rule for one pair: template stories
("the differing slots disagree"), digests ("holds the leads of 4 other stories"), a
teaser found in a story's lead.  The digest check reads the fingerprints of the items'
dedup window; the cluster page links here rather than running it on every view.
"""

from __future__ import annotations

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


def _explanation(request: Request) -> tuple[list[int], Explanation]:
    item_ids = [path_id(request, "item_id", "item")]
    other = optional_id(request, "with")
    if other is not None and other != item_ids[0]:
        item_ids.append(other)
    storage = storage_of(request)
    model = request.app.state.boilerplate.get(storage)
    params = dedup_params(request.app.state.settings.dedup)
    try:
        return item_ids, explain(storage, model, params, item_ids)
    except AggregatorError as exc:  # an id that names no stored item
        raise HTTPException(404, str(exc)) from exc


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
    _, explanation = _explanation(request)
    return JSONResponse(_report(request, explanation))


def explain_page(request: Request) -> HTMLResponse:
    item_ids, explanation = _explanation(request)
    report = _report(request, explanation)
    return render(
        request,
        "explain.html",
        {
            "item_ids": item_ids,
            "items": report["items"],
            "comparison": report.get("comparison"),
        },
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/api/items/{item_id:int}/explain", explain_api),
        Route("/items/{item_id:int}/explain", explain_page),
    ]
