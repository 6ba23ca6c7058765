"""The web face's everyday tasks, for whoever is signed in: add a feed (with discovery),
edit or remove one, split an item out of a story and merge two stories, import and export
OPML.  Also the sign-in and sign-out forms.

Plain HTML forms that work without JavaScript.  Every POST carries the session's CSRF
token (checked before anything else, :func:`aggregator.publish.session.check_csrf`), and
answers with a redirect to the page that shows the result (its notice says what
happened), so reloading it sends nothing twice.  Each task calls the one home of its rule:
:mod:`aggregator.ingest.subscribe` finds feeds, storage edits and removes them,
:mod:`aggregator.publish.corrections` splits and merges, :mod:`aggregator.publish.opml`
reads, subscribes and writes OPML.  Pages under ``/manage`` need a sign-in; a visitor is
sent to ``/login`` and back.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from aggregator.config import MAX_PRIORITY, parse_duration
from aggregator.errors import AggregatorError, FeedError
from aggregator.fetch.policy import FetchPolicy, check_outside_url
from aggregator.ingest.subscribe import Discovery, discover
from aggregator.publish import corrections, pages, session
from aggregator.publish.api import path_id
from aggregator.publish.context import public_feeds, storage_of
from aggregator.publish.feedhealth import feed_status
from aggregator.publish.opml import parse_opml, render_opml, subscribe_listed
from aggregator.publish.query import MAX_ID
from aggregator.publish.redact import public_feed
from aggregator.publish.session import Viewer
from aggregator.types import FeedChanges, FeedSpec, FeedView

MAX_FORM_BYTES = 5 * 1024 * 1024
"""A form's body, an OPML file included (10,000 outlines fit in about 3 MB)."""
MAX_FIELDS = 50
TEXT_LIMIT = 2000
"""Longest text field accepted (a URL, a name)."""

Handler = Callable[[Request, FormData, Viewer | None], Response]


# -- plumbing ---------------------------------------------------------------------------


def _form_action(
    handler: Handler, *, signed_in: bool = True
) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that reads the form, checks its CSRF token and (unless ``signed_in`` is
    False) that someone is signed in, then runs ``handler`` in a worker thread: handlers
    read and write the database, and a correction waits for the poll's lock."""

    async def endpoint(request: Request) -> Response:
        # Browsers give a form's length: without one, a body could grow without end.
        length = request.headers.get("content-length", "")
        if not length.isdigit():
            raise HTTPException(411, "a form must be sent with its Content-Length")
        if int(length) > MAX_FORM_BYTES:
            raise HTTPException(413, f"a form is limited to {MAX_FORM_BYTES // (1024 * 1024)} MB")
        async with request.form(max_files=1, max_fields=MAX_FIELDS) as form:
            return await run_in_threadpool(_run, handler, request, form, signed_in)

    return endpoint


def _run(handler: Handler, request: Request, form: FormData, signed_in: bool) -> Response:
    session.check_csrf(request, form)
    viewer = session.viewer_of(request)
    if signed_in and viewer is None:
        session.set_notice(request, "Sign in first: your session ended or you signed out.")
        response: Response = RedirectResponse("/login?" + urlencode({"next": "/manage"}), 303)
    else:
        response = handler(request, form, viewer)
    return session.save(request, response)


def _page(request: Request) -> Viewer | Response:
    """Who is signed in, or the redirect to the sign-in page."""
    viewer = session.viewer_of(request)
    if viewer is not None:
        return viewer
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), 303)


def _done(request: Request, location: str, notice: str) -> Response:
    session.set_notice(request, notice)
    return RedirectResponse(location, 303)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    if len(value) > TEXT_LIMIT:
        raise HTTPException(400, f"field {name!r}: longer than {TEXT_LIMIT} characters")
    return value.strip()


def _whole(form: FormData, name: str, low: int, high: int, default: int) -> int:
    """A whole number field within ``low``..``high`` (``default`` when empty)."""
    text = _text(form, name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise HTTPException(400, f"{name}: expected a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise HTTPException(400, f"{name}: must be between {low} and {high}, got {value}")
    return value


def _priority(form: FormData) -> int:
    # The range the config file accepts for a feed's priority.
    return _whole(form, "priority", -1000, MAX_PRIORITY, 0)


def _id(form: FormData, name: str, what: str) -> int:
    """An item or story id; a pasted link to a story ("…/clusters/12") names it at its end."""
    text = _text(form, name)
    found = re.fullmatch(r"(?:.*/)?(\d{1,12})[/#?]?", text)
    value = int(found.group(1)) if found else 0
    if not 0 < value <= MAX_ID:
        raise HTTPException(400, f"{what}: expected its id (a number), got {text!r}")
    return value


def _local(target: str) -> str:
    """A redirect target from a form: a path on this site, else the stories."""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/clusters"


# -- signing in and out -----------------------------------------------------------------


def login_page(request: Request) -> Response:
    viewer = session.viewer_of(request)
    target = _local(request.query_params.get("next", "/manage"))
    if viewer is not None:
        return RedirectResponse(target, 303)
    session.current(request)  # the form's CSRF token needs a session
    token_set = bool(request.app.state.settings.server.token)
    return pages.render(request, "login.html", {"next": target, "token_set": token_set})


def login(request: Request, form: FormData, viewer: Viewer | None) -> Response:
    target = _local(_text(form, "next"))
    name = _text(form, "name")
    password = form.get("password")
    signed = session.sign_in(request, name, password if isinstance(password, str) else "")
    if signed is None:
        token_set = bool(request.app.state.settings.server.token)
        return pages.render(
            request,
            "login.html",
            {
                "next": target,
                "token_set": token_set,
                "name": name,
                "error": "That name and password do not match."
                if name
                else (
                    "That is not the server token."
                    if token_set
                    else "No server token is set (server.token): sign in as a user."
                ),
            },
            status_code=401,
        )
    return _done(request, target, f"Signed in as {signed.name}.")


def logout(request: Request, form: FormData, viewer: Viewer | None) -> Response:
    session.sign_out(request)
    return _done(request, "/clusters", "Signed out.")


# -- the manage page: feeds and OPML ----------------------------------------------------


def _feeds_for(request: Request, viewer: Viewer) -> list[FeedView]:
    """The operator sees feed addresses whole; a reader as everyone does (no credentials)."""
    storage = storage_of(request)
    return storage.list_feeds() if viewer.operator else public_feeds(storage)


def manage_page(request: Request) -> Response:
    viewer = _page(request)
    if isinstance(viewer, Response):
        return viewer
    feeds = _feeds_for(request, viewer)
    rows = [
        {"feed": f, "status": feed_status(f), "interval": _duration_text(f.interval) or "default"}
        for f in feeds
    ]
    return pages.render(request, "manage.html", {"rows": rows})


def _feed(request: Request) -> FeedView:
    feed_id = path_id(request, "feed_id", "feed")
    feed = storage_of(request).find_feed(feed_id)
    if feed is None:
        raise HTTPException(404, f"no feed {feed_id}")
    return feed


def _duration_text(seconds: float | None) -> str:
    if not seconds:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def edit_page(request: Request) -> Response:
    viewer = _page(request)
    if isinstance(viewer, Response):
        return viewer
    feed = _feed(request)
    shown = feed if viewer.operator else public_feed(feed)
    return pages.render(
        request,
        "feed_edit.html",
        {"feed": shown, "interval": _duration_text(feed.interval), "name": feed.name or ""},
    )


def edit_feed(request: Request, form: FormData, viewer: Viewer | None) -> Response:
    feed = _feed(request)
    interval_text = _text(form, "interval")
    try:
        interval = parse_duration(interval_text, "interval") if interval_text else 0.0
    except AggregatorError as exc:
        raise HTTPException(400, str(exc)) from exc
    changes = FeedChanges(
        name=_text(form, "name"),
        group=_text(form, "group"),
        priority=_priority(form),
        interval=interval,
        enabled=form.get("enabled") == "on",
    )
    edited = storage_of(request).edit_feed(feed.id, changes)
    if edited is None:
        raise HTTPException(404, f"no feed {feed.id}")
    return _done(request, "/manage#feeds", f"Saved {edited.shown_name}.")


def remove_page(request: Request) -> Response:
    viewer = _page(request)
    if isinstance(viewer, Response):
        return viewer
    feed = _feed(request)
    return pages.render(
        request, "feed_remove.html", {"feed": feed if viewer.operator else public_feed(feed)}
    )


def remove_feed(request: Request, form: FormData, viewer: Viewer | None) -> Response:
    feed = _feed(request)
    removed = storage_of(request).remove_feed(feed.id)
    if removed is None:
        raise HTTPException(404, f"no feed {feed.id}")
    notice = f"Removed {feed.shown_name} and its {removed} {'item' if removed == 1 else 'items'}."
    if any(spec.url == feed.url for spec in request.app.state.settings.feeds):
        notice += (
            " It is still listed in the config file and comes back at the next poll:"
            " delete it there too."
        )
    return _done(request, "/manage#feeds", notice)


def import_opml(request: Request, form: FormData, viewer: Viewer | None) -> Response:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise HTTPException(400, "choose an OPML file to import")
    data = upload.file.read(MAX_FORM_BYTES + 1)
    try:
        listed = parse_opml(data)
    except AggregatorError as exc:
        raise HTTPException(400, str(exc)) from exc
    policy = FetchPolicy.from_config(request.app.state.settings.fetch)
    results = subscribe_listed(storage_of(request), listed, policy)
    return pages.render(
        request,
        "opml_import.html",
        {
            "filename": upload.filename,
            "results": results,
            "added": sum(r.created for r in results),
            "skipped": sum(r.feed is None for r in results),
        },
    )


def export_opml(request: Request) -> Response:
    viewer = _page(request)
    if isinstance(viewer, Response):
        return viewer
    body = render_opml(_feeds_for(request, viewer), title="aggregator subscriptions")
    return session.save(
        request,
        Response(
            body,
            media_type="text/x-opml; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="subscriptions.opml"'},
        ),
    )


# -- adding a feed ----------------------------------------------------------------------


def _spec_fields(form: FormData) -> dict[str, Any]:
    return {
        "name": _text(form, "name") or None,
        "group": _text(form, "group") or None,
        "priority": _priority(form),
    }


def add_feed(request: Request, form: FormData, viewer: Viewer | None) -> Response:
    url = _text(form, "url")
    if not url:
        raise HTTPException(400, "give the address of a feed or of a site")
    if "://" not in url:
        url = "https://" + url  # people type a site as "news.example"
    fields = _spec_fields(form)
    settings = request.app.state.settings
    if form.get("force") == "on":
        # Subscribing to what did not answer as a feed: still only a public http(s) URL.
        try:
            checked = check_outside_url(url, FetchPolicy.from_config(settings.fetch))
        except FeedError as exc:
            raise HTTPException(400, str(exc)) from exc
        return _subscribe(request, checked, fields, "")
    found: Discovery = discover(url, settings, origin="web")
    if found.is_feed:
        return _subscribe(request, found.url, fields, "")
    if len(found.candidates) == 1:
        only = found.candidates[0]
        return _subscribe(request, only.url, fields, f" (found on {found.url})")
    return pages.render(
        request,
        "feed_add.html",
        {"found": found, "fields": fields, "url": url},
        status_code=200 if found.candidates else 422,
    )


def _subscribe(request: Request, url: str, fields: dict[str, Any], where: str) -> Response:
    feed, created = storage_of(request).add_feed(FeedSpec(url=url, **fields), origin="web")
    if not created:
        return _done(
            request, "/manage#feeds", f"Already subscribed to {feed.shown_name} ({feed.url})."
        )
    return _done(
        request,
        "/manage#feeds",
        f"Added {feed.url}{where}. It is polled at the next cycle.",
    )


# -- corrections ------------------------------------------------------------------------


def split_item(request: Request, form: FormData, viewer: Viewer | None) -> Response:
    cluster_id = path_id(request, "cluster_id", "cluster")
    item_id = _id(form, "item_id", "the item")
    storage = storage_of(request)
    before = storage.get_cluster(cluster_id)
    # Back to the story the copy left, wherever its other copies are now (the split may
    # give either part the old cluster id).
    stays = (
        [m.id for m in sorted(before.members, key=lambda m: not m.canonical) if m.id != item_id]
        if before
        else []
    )
    _, applied = corrections.split(request, item_id)
    if not applied:
        return _done(request, f"/clusters/{cluster_id}", corrections.STORED.capitalize() + ".")
    now = storage.list_items(item_ids=[item_id, *stays[:1]])
    where = {i.id: i.cluster_id for i in now}
    alone_in = where.get(item_id)
    back = where.get(stays[0]) if stays else alone_in
    return _done(
        request,
        f"/clusters/{back}",
        f"Item {item_id} is now a story of its own (cluster {alone_in}); "
        "the correction is kept for later decisions.",
    )


def merge_clusters(request: Request, form: FormData, viewer: Viewer | None) -> Response:
    cluster_id = path_id(request, "cluster_id", "cluster")
    other = _id(form, "other", "the other story")
    anchor, applied = corrections.merge(request, cluster_id, other)
    if not applied:
        return _done(request, f"/clusters/{cluster_id}", corrections.STORED.capitalize() + ".")
    found = storage_of(request).list_items(item_ids=[anchor]) if anchor else []
    joined = found[0].cluster_id if found and found[0].cluster_id else cluster_id
    return _done(
        request,
        f"/clusters/{joined}",
        f"Clusters {cluster_id} and {other} are one story now; "
        "the correction is kept for later decisions.",
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", _form_action(login, signed_in=False), methods=["POST"]),
        Route("/logout", _form_action(logout, signed_in=False), methods=["POST"]),
        Route("/manage", manage_page, methods=["GET"]),
        Route("/manage/feeds", _form_action(add_feed), methods=["POST"]),
        Route("/manage/feeds/{feed_id:int}", edit_page, methods=["GET"]),
        Route("/manage/feeds/{feed_id:int}", _form_action(edit_feed), methods=["POST"]),
        Route("/manage/feeds/{feed_id:int}/remove", remove_page, methods=["GET"]),
        Route("/manage/feeds/{feed_id:int}/remove", _form_action(remove_feed), methods=["POST"]),
        Route("/manage/opml", export_opml, methods=["GET"]),
        Route("/manage/opml", _form_action(import_opml), methods=["POST"]),
        Route(
            "/manage/clusters/{cluster_id:int}/split", _form_action(split_item), methods=["POST"]
        ),
        Route(
            "/manage/clusters/{cluster_id:int}/merge",
            _form_action(merge_clusters),
            methods=["POST"],
        ),
    ]
