"""Server-rendered HTML pages: /clusters, /clusters/{id}, /feeds and /api/docs.

Jinja2 with autoescaping on for every template: titles, names and links come from
feeds we do not control.  Links from feeds go through ``safe_url`` (only http/https) before
they reach an ``href``.  Pages show the items' *text*, never their HTML.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from aggregator.clean.boilerplate import BoilerplateModel
from aggregator.clean.published import clean_published_html
from aggregator.clean.sanitize import safe_url, sanitize_html
from aggregator.clean.text import html_to_blocks, readable_line
from aggregator.config import DedupConfig
from aggregator.errors import AggregatorError
from aggregator.ingest.explain import explain
from aggregator.ingest.state import dedup_params
from aggregator.publish import session
from aggregator.publish.api import cluster_summary, path_id
from aggregator.publish.context import feeds_by_id, is_boilerplate, public_feeds, storage_of
from aggregator.publish.diff import Copy, compare_copies
from aggregator.publish.entries import story_title
from aggregator.publish.feedhealth import feed_status
from aggregator.publish.feeds import cleaning_of
from aggregator.publish.openapi import SPEC
from aggregator.publish.query import filters, flag_param, int_param, text_param
from aggregator.publish.reasons import (
    canonical_reason,
    feed_label,
    members_of,
    membership_reason,
)
from aggregator.storage import Storage
from aggregator.types import ClusterView, ItemView

PAGE_SIZE = 50
MAX_PAGE = 20_000
TEMPLATES = Path(__file__).parent / "templates"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def _iso_text(value: str | None) -> str:
    """``2026-11-26T08:00:00Z`` (as the API gives it) → ``2026-11-26 08:00 UTC``."""
    if not value:
        return "—"
    try:
        return _when(datetime.fromisoformat(value))
    except ValueError:
        return value


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["iso_text"] = _iso_text
    env.filters["safe_url"] = safe_url
    return env


templates = Jinja2Templates(env=_environment(), context_processors=[session.page_context])


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    response: HTMLResponse = templates.TemplateResponse(
        request, name, context, status_code=status_code
    )
    session.save(request, response)  # the notice just shown is dropped from the session
    return response


def home(request: Request) -> Response:
    return RedirectResponse("/clusters", status_code=307)


def clusters_page(request: Request) -> HTMLResponse:
    found = filters(request)
    show_all = flag_param(request, "all")
    page = int_param(request, "page", 1, 1, MAX_PAGE)
    storage = storage_of(request)
    clusters, total = storage.cluster_page(
        min_size=1 if show_all else 2,
        group=found.group,
        feed_id=found.feed_id,
        since=found.since,
        until=found.until,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    feeds = feeds_by_id(storage)
    rows = [cluster_summary(c, feeds) for c in clusters]
    groups = sorted({f.group for f in feeds.values() if f.group})

    def link(**changes: object) -> str:
        params = {k: v for k, v in request.query_params.items()}
        params.update({k: str(v) for k, v in changes.items()})
        return "/clusters?" + urlencode({k: v for k, v in params.items() if v not in ("", "0")})

    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        request,
        "clusters.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": pages,
            "show_all": show_all,
            "group": found.group,
            "groups": groups,
            "prev_link": link(page=page - 1) if page > 1 else None,
            "next_link": link(page=page + 1) if page < pages else None,
            "toggle_link": link(all=0 if show_all else 1, page=1),
            "group_links": [(g, link(group=g, page=1)) for g in groups],
            "all_groups_link": link(group="", page=1),
        },
    )


def cluster_page(request: Request) -> HTMLResponse:
    cluster_id = path_id(request, "cluster_id", "cluster")
    storage = storage_of(request)
    cluster = storage.get_cluster(cluster_id, with_content=True)
    if cluster is None:
        raise HTTPException(404, f"no cluster {cluster_id}")
    feeds = feeds_by_id(storage)
    members = members_of(
        cluster.members, feeds, storage.membership_evidence([m.id for m in cluster.members])
    )
    reference = next(
        (m for m in cluster.members if m.canonical), cluster.members[0] if cluster.members else None
    )
    model = request.app.state.boilerplate.get(storage)
    columns: list[dict[str, Any]] = []
    if reference is not None:
        diffs = compare_copies(
            Copy(reference.id, reference.title or "", reference.text),
            [Copy(m.id, m.title or "", m.text) for m in cluster.members],
            lambda block: is_boilerplate(model, block),
        )
        by_id = {m.item.id: m for m in members}
        columns = [{"diff": d, "member": by_id[d.item_id]} for d in diffs]
    dedup = request.app.state.settings.dedup
    rules = _rules_today(storage, model, dedup, cluster)
    return render(
        request,
        "cluster.html",
        {
            "published": _published_view(request, cluster, reference),
            "cluster": cluster,
            "columns": columns,
            "reference": reference,
            "reason": canonical_reason(members),
            "members": [
                {"m": m, "reason": membership_reason(m, dedup), "rule": rules.get(m.item.id)}
                for m in members
            ],
            "sources": sorted({m.source for m in members}),
        },
    )


RULES_SHOWN = 200
"""Members of a cluster page whose verdict under today's rules it gives (the rest keep the
stored reason): each is filtered and fingerprinted again for it."""


def _rules_today(
    storage: Storage, model: BoilerplateModel, dedup: DedupConfig, cluster: ClusterView
) -> dict[int, str]:
    """Each member's verdict under the rules as ``clusters explain`` gives it, against the
    member its stored membership names (the digest check, which reads the whole dedup
    window, is left to the explain page)."""
    # Each member filtered and fingerprinted again: the first few hundred, so that a page of
    # thousands of copies does not cost that much more than its diff.
    shown = [m.id for m in cluster.members[:RULES_SHOWN]]
    try:
        explanation = explain(storage, model, dedup_params(dedup), shown, find_digests=False)
    except AggregatorError:  # a member dropped by retention since the cluster was read
        return {}
    return {e.item.id: e.membership.reason for e in explanation.items}


PUBLISHED_VIEWS = ("cleaned", "original")


def _published_view(
    request: Request, cluster: ClusterView, reference: ItemView | None
) -> dict[str, Any] | None:
    """The canonical copy as the feeds publish it (``?published=cleaned``, the default) or
    as its source wrote it (``?published=original``, the blocks the cleaning removes
    marked), as text blocks: pages show text, never a feed's HTML."""
    if reference is None:
        return None
    view = text_param(request, "published") or "cleaned"
    if view not in PUBLISHED_VIEWS:
        raise HTTPException(
            400, f"query parameter 'published': one of {', '.join(PUBLISHED_VIEWS)}"
        )
    cleaning = cleaning_of(request, full=False)
    cleaned = clean_published_html(reference.content_html, cleaning.is_learned)
    removed = {readable_line(r) for r in cleaned.removed}
    if view == "cleaned" and cleaning.applies_to(reference):
        blocks = [(b, False) for b in html_to_blocks(cleaned.html)]
    else:
        blocks = [(b, b in removed) for b in html_to_blocks(sanitize_html(reference.content_html))]
    return {
        "view": view,
        "views": [(v, f"?published={v}#published") for v in PUBLISHED_VIEWS],
        "title": story_title(cluster, reference, cleaning),
        "original_title": reference.title or "(untitled)",
        "blocks": blocks,
        "removed": len(cleaned.removed) if cleaning.applies_to(reference) else 0,
        "cleans": cleaning.applies_to(reference),
    }


def feeds_page(request: Request) -> HTMLResponse:
    feeds = public_feeds(storage_of(request))
    rows = [{"feed": f, "name": feed_label(f, f.url), "status": feed_status(f)} for f in feeds]
    counts: dict[str, int] = {}
    for feed in feeds:
        counts[feed_status(feed)] = counts.get(feed_status(feed), 0) + 1
    return render(request, "feeds.html", {"rows": rows, "counts": sorted(counts.items())})


def api_docs(request: Request) -> HTMLResponse:
    operations = [
        {"method": method.upper(), "path": path, "op": op}
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
    ]
    return render(request, "api_docs.html", {"operations": operations, "spec": SPEC})


def routes() -> list[BaseRoute]:
    return [
        Route("/", home),
        Route("/clusters", clusters_page),
        Route("/clusters/{cluster_id:int}", cluster_page),
        Route("/feeds", feeds_page),
        Route("/api/docs", api_docs),
    ]
