"""The Google Reader API (the FreshRSS / Inoreader dialect) under ``/api/greader``: one item
per story, read and starred per story, per user.

``POST /api/greader/accounts/ClientLogin`` (``Email``, ``Passwd``) answers ``Auth=TOKEN``;
every other call needs ``Authorization: GoogleLogin auth=TOKEN`` (401 without), and every
write also the ``T`` token from ``/reader/api/0/token``.  Stream ids: ``user/-/state/
com.google/reading-list|read|starred``, ``feed/ID`` (or ``feed/URL``), ``user/-/label/
FOLDER`` (a feed's group, or the user's own folder).  Item ids: the long form
``tag:google.com,2005:reader/item/<16 hex>`` in contents, the decimal short form in
``stream/items/ids``; both are accepted everywhere.  An item is a story: its id is the
story's first item's (see :mod:`aggregator.storage.readers`), its content the canonical
copy's.  ``/reader/atom/STREAM`` serves a stream as Atom with Google Reader categories
(what newsboat's ``feedhq`` source reads).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.sax.saxutils import escape, quoteattr

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from aggregator.clean.sanitize import safe_url, sanitize_html
from aggregator.errors import FeedError
from aggregator.fetch.policy import FetchPolicy, check_outside_url
from aggregator.publish.accounts import (
    action_token,
    digest,
    new_token,
    same,
    verify_password,
)
from aggregator.publish.context import storage_of
from aggregator.storage import Storage
from aggregator.storage.readers import ReaderAccount, ReaderFeed, StoryItem, StoryQuery, StoryRef

PREFIX = "/api/greader"
LONG_ID = "tag:google.com,2005:reader/item/"
STATE = "user/-/state/com.google/"
READING_LIST = STATE + "reading-list"
READ = STATE + "read"
STARRED = STATE + "starred"
KEPT_UNREAD = STATE + "kept-unread"
LABEL = "user/-/label/"
MAX_CONTENTS = 1000
MAX_IDS = 10000
DEFAULT_N = 20
MAX_FORM_BYTES = 4_000_000
MAX_FIELDS = 20_000


# -- parameters -------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    """Query and form parameters together (clients send either), several values each."""

    values: dict[str, list[str]]

    def get(self, name: str, default: str | None = None) -> str | None:
        found = self.values.get(name)
        return found[0] if found else default

    def all(self, name: str) -> list[str]:
        return self.values.get(name, [])


async def params_of(request: Request) -> Params:
    values: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        values.setdefault(key, []).append(value)
    if request.method == "POST":
        # Clients post url-encoded forms (no multipart): parsed here, without a library.
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, "request body too large")
        text = body.decode("utf-8", errors="replace")
        for key, value in parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS):
            values.setdefault(key, []).append(value)
    return Params(values)


def parse_item_id(text: str) -> int | None:
    """An item id in the long form (hex) or the short form (decimal, maybe negative)."""
    text = text.strip()
    try:
        if text.startswith(LONG_ID):
            value = int(text[len(LONG_ID) :], 16)
            return value - (1 << 64) if value >= 1 << 63 else value
        return int(text)
    except ValueError:
        return None


def long_id(story_id: int) -> str:
    return f"{LONG_ID}{story_id & 0xFFFFFFFFFFFFFFFF:016x}"


def _usec(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000)


def _time_param(params: Params, name: str) -> datetime | None:
    value = params.get(name)
    if not value:
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        raise HTTPException(400, f"{name}: expected seconds since 1970, got {value!r}") from None


def _int_param(params: Params, name: str, default: int, high: int) -> int:
    value = params.get(name)
    if not value:
        return default
    try:
        return max(1, min(int(value), high))
    except ValueError:
        raise HTTPException(400, f"{name}: expected a number, got {value!r}") from None


def _continuation(text: str | None) -> tuple[datetime, int] | None:
    if not text:
        return None
    usec, _, item = text.partition("x")
    try:
        return datetime.fromtimestamp(int(usec) / 1_000_000, UTC), int(item)
    except (ValueError, OverflowError, OSError):
        raise HTTPException(400, f"c: not a continuation of this server: {text!r}") from None


# -- authentication ---------------------------------------------------------------


def _unauthorized(bad_token: bool = False) -> HTTPException:
    headers = {"WWW-Authenticate": 'GoogleLogin realm="aggregator"'}
    if bad_token:
        headers["X-Reader-Google-Bad-Token"] = "true"
    return HTTPException(401, "Unauthorized!", headers=headers)


def _auth_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, rest = header.partition(" ")
    if scheme.lower() == "googlelogin":
        key, _, value = rest.strip().partition("=")
        if key.strip().lower() == "auth" and value.strip():
            return value.strip()
    return None


def authenticate(storage: Storage, request: Request) -> tuple[ReaderAccount, str]:
    token = _auth_token(request)
    if token is None:
        raise _unauthorized()
    user = storage.reader_for_token(digest(token))
    if user is None:
        raise _unauthorized()
    return user, token


def check_action_token(params: Params, token: str) -> None:
    given = (params.get("T") or "").strip()
    if not given or not same(given, action_token(token)):
        raise _unauthorized(bad_token=True)


# -- streams ----------------------------------------------------------------------


def _stream_feeds(stream: str, feeds: Sequence[ReaderFeed]) -> list[int] | None:
    """The feed ids a feed or label stream covers (None: the stream is not one)."""
    if stream.startswith("feed/"):
        ref = stream[len("feed/") :]
        if ref.isdigit():
            return [int(ref)] if any(f.feed_id == int(ref) for f in feeds) else []
        return [f.feed_id for f in feeds if ref in (f.url, f.fetch_url)]
    label = _label_name(stream)
    if label is not None:
        return [f.feed_id for f in feeds if f.folder == label]
    return None


def _label_name(stream: str) -> str | None:
    if stream.startswith("user/") and "/label/" in stream:
        return stream.split("/label/", 1)[1]
    return None


def _is_state(stream: str, state: str) -> bool:
    return stream.startswith("user/") and stream.endswith("/state/com.google/" + state)


def story_query(stream: str, params: Params, feeds: Sequence[ReaderFeed]) -> StoryQuery:
    """The stories a stream with its filters (``xt``, ``it``, ``ot``, ``nt``, ``r``, ``c``)
    covers."""
    fields: dict[str, Any] = {}
    if _is_state(stream, "starred"):
        fields["starred_only"] = True
    elif _is_state(stream, "read"):
        fields["read_only"] = True
    elif not _is_state(stream, "reading-list"):
        feed_ids = _stream_feeds(stream, feeds)
        if feed_ids is None:
            raise HTTPException(400, f"s: unknown stream {stream!r}")
        fields["feed_ids"] = feed_ids
    for exclude in params.all("xt"):
        if _is_state(exclude, "read"):
            fields["unread_only"] = True
        elif _is_state(exclude, "starred"):
            fields["exclude_starred"] = True
    for include in params.all("it"):
        if _is_state(include, "read"):
            fields["read_only"] = True
        elif _is_state(include, "starred"):
            fields["starred_only"] = True
    fields["newer_than"] = _time_param(params, "ot")
    fields["older_than"] = _time_param(params, "nt")
    fields["oldest_first"] = params.get("r") == "o"
    fields["after"] = _continuation(params.get("c"))
    return StoryQuery(**fields)


def _page(
    storage: Storage, user: ReaderAccount, query: StoryQuery, n: int, *, marks: bool = True
) -> tuple[list[StoryRef], str | None]:
    refs = storage.reader_stories(user.id, query, n + 1, marks=marks)
    more = len(refs) > n
    refs = refs[:n]
    token = f"{_usec(refs[-1].time)}x{refs[-1].item_id}" if more and refs else None
    return refs, token


# -- item rendering ---------------------------------------------------------------


def _categories(ref: StoryRef, feed: ReaderFeed | None, user_id: int) -> list[str]:
    out = [READING_LIST]
    if feed is not None and feed.folder:
        out.append(LABEL + feed.folder)
    out.append(READ if ref.read else STATE + "fresh")
    if ref.starred:
        out.append(STARRED)
    return out


def _origin(feed: ReaderFeed | None, feed_id: int) -> dict[str, str]:
    return {
        "streamId": f"feed/{feed_id}",
        "title": feed.title if feed else "",
        "htmlUrl": (safe_url(feed.fetch_url) or "") if feed else "",
    }


def item_json(
    ref: StoryRef,
    item: StoryItem,
    feed: ReaderFeed | None,
    user_id: int,
    origin: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One item as ``stream/contents`` writes it; ``origin``: the feed's part, when the
    caller built it once for every item of the feed."""
    link = safe_url(item.link)
    published = item.published or item.first_seen
    usec = _usec(ref.time)
    body: dict[str, Any] = {
        "id": long_id(ref.story_id),
        "crawlTimeMsec": str(usec // 1000),
        "timestampUsec": str(usec),
        "published": int(published.timestamp()),
        "updated": int((item.updated or published).timestamp()),
        "title": item.title or "",
        "canonical": [{"href": link}] if link else [],
        "alternate": [{"href": link, "type": "text/html"}] if link else [],
        "categories": _categories(ref, feed, user_id),
        "origin": origin if origin is not None else _origin(feed, ref.feed_id),
        "summary": {"direction": "ltr", "content": sanitize_html(item.content_html)},
    }
    if item.author:
        body["author"] = item.author
    return body


def _contents(
    storage: Storage,
    user: ReaderAccount,
    refs: Sequence[StoryRef],
    feeds: Sequence[ReaderFeed],
) -> list[dict[str, Any]]:
    by_feed = {f.feed_id: f for f in feeds}
    # A page holds many items of few feeds: each feed's part is built once.
    origins = {
        feed_id: _origin(by_feed.get(feed_id), feed_id) for feed_id in {r.feed_id for r in refs}
    }
    items = storage.reader_story_items([r.item_id for r in refs])
    return [
        item_json(r, items[r.item_id], by_feed.get(r.feed_id), user.id, origins[r.feed_id])
        for r in refs
        if r.item_id in items
    ]


# -- endpoints --------------------------------------------------------------------

Handler = Callable[[Storage, ReaderAccount, str, Params, str | None], Response]


def _endpoint(work: Handler, *, write: bool = False) -> Callable[[Request], Any]:
    """An authenticated endpoint: storage work runs in a thread."""

    async def endpoint(request: Request) -> Response:
        params = await params_of(request)
        rest = request.path_params.get("stream")
        storage = storage_of(request)

        def run() -> Response:
            user, token = authenticate(storage, request)
            if write:
                if request.method != "POST":
                    raise HTTPException(405, "this call needs POST")
                check_action_token(params, token)
            return work(storage, user, token, params, rest)

        response: Response = await run_in_threadpool(run)
        return response

    return endpoint


Subscribing = Callable[[FetchPolicy, Storage, ReaderAccount, str, Params, str | None], Response]


def _subscribing(work: Subscribing) -> Callable[[Request], Any]:
    """A write endpoint that may subscribe to a new address: it gets the fetch policy of
    the server's config, to vet the address as the web form and the OPML import do."""

    async def endpoint(request: Request) -> Response:
        policy = FetchPolicy.from_config(request.app.state.settings.fetch)

        def bound(
            storage: Storage, user: ReaderAccount, auth: str, params: Params, rest: str | None
        ) -> Response:
            return work(policy, storage, user, auth, params, rest)

        response: Response = await _endpoint(bound, write=True)(request)
        return response

    return endpoint


def _json(body: Any) -> Response:
    return JSONResponse(body, headers={"Cache-Control": "private, no-cache"})


async def client_login(request: Request) -> Response:
    params = await params_of(request)
    name = params.get("Email") or ""
    password = params.get("Passwd") or ""
    storage = storage_of(request)

    def run() -> Response:
        user = storage.reader(name) if name else None
        if not verify_password(user.password_hash if user else None, password) or user is None:
            return PlainTextResponse("Error=BadAuthentication\n", status_code=401)
        token = new_token()
        storage.add_reader_token(user.id, digest(token))
        if params.get("output") == "json":
            return JSONResponse({"SID": token, "LSID": "null", "Auth": token})
        return PlainTextResponse(f"SID={token}\nLSID=null\nAuth={token}\n")

    response: Response = await run_in_threadpool(run)
    return response


def token(
    storage: Storage, user: ReaderAccount, auth: str, params: Params, _: str | None
) -> Response:
    return PlainTextResponse(action_token(auth) + "\n")


def user_info(
    storage: Storage, user: ReaderAccount, auth: str, params: Params, _: str | None
) -> Response:
    return _json(
        {
            "userId": str(user.id),
            "userName": user.name,
            "userProfileId": str(user.id),
            "userEmail": "",
            "isBloggerUser": False,
            "signupTimeSec": int(user.created.timestamp()),
        }
    )


def _subscription_json(feed: ReaderFeed) -> dict[str, Any]:
    return {
        "id": f"feed/{feed.feed_id}",
        "title": feed.title,
        "categories": [{"id": LABEL + feed.folder, "label": feed.folder}] if feed.folder else [],
        "url": feed.fetch_url,
        "htmlUrl": safe_url(feed.fetch_url) or "",
        "iconUrl": "",
        "firstitemmsec": str(int(feed.created.timestamp() * 1000)),
        "sortid": f"{feed.feed_id:08X}",
    }


def subscription_list(
    storage: Storage, user: ReaderAccount, auth: str, params: Params, _: str | None
) -> Response:
    feeds = storage.reader_feeds(user.id)
    return _json({"subscriptions": [_subscription_json(f) for f in feeds]})


def tag_list(
    storage: Storage, user: ReaderAccount, auth: str, params: Params, _: str | None
) -> Response:
    folders = sorted({f.folder for f in storage.reader_feeds(user.id) if f.folder})
    tags: list[dict[str, Any]] = [{"id": f"user/{user.id}/state/com.google/starred"}]
    tags += [
        {"id": f"user/{user.id}/label/{name}", "label": name, "type": "folder"} for name in folders
    ]
    return _json({"tags": tags})


def unread_count(
    storage: Storage, user: ReaderAccount, auth: str, params: Params, _: str | None
) -> Response:
    feeds = {f.feed_id: f for f in storage.reader_feeds(user.id)}
    counts = storage.reader_unread_counts(user.id)
    rows: list[dict[str, Any]] = []
    folders: dict[str, tuple[int, datetime]] = {}
    total, newest = 0, None
    for feed_id, count, latest in counts:
        feed = feeds.get(feed_id)
        if feed is None:
            continue
        rows.append(
            {
                "id": f"feed/{feed_id}",
                "count": count,
                "newestItemTimestampUsec": str(_usec(latest)),
            }
        )
        total += count
        newest = latest if newest is None or latest > newest else newest
        if feed.folder:
            have, when = folders.get(feed.folder, (0, latest))
            folders[feed.folder] = (have + count, max(when, latest))
    for name, (count, latest) in sorted(folders.items()):
        rows.append(
            {
                "id": f"user/{user.id}/label/{name}",
                "count": count,
                "newestItemTimestampUsec": str(_usec(latest)),
            }
        )
    rows.append(
        {
            "id": f"user/{user.id}/state/com.google/reading-list",
            "count": total,
            "newestItemTimestampUsec": str(_usec(newest)) if newest else "0",
        }
    )
    return _json({"max": total, "unreadcounts": rows})


def stream_contents(
    storage: Storage, user: ReaderAccount, auth: str, params: Params, rest: str | None
) -> Response:
    stream = unquote(rest) if rest else (params.get("s") or READING_LIST)
    feeds = storage.reader_feeds(user.id)
    query = story_query(stream, params, feeds)
    refs, more = _page(storage, user, query, _int_param(params, "n", DEFAULT_N, MAX_CONTENTS))
    body: dict[str, Any] = {
        "id": stream,
        "updated": int(time.time()),
        "items": _contents(storage, user, refs, feeds),
    }
    if more:
        body["continuation"] = more
    return _json(body)


def stream_item_ids(
    storage: Storage, user: ReaderAccount, auth: str, params: Params, _: str | None
) -> Response:
    stream = params.get("s") or READING_LIST
    feeds = storage.reader_feeds(user.id)
    query = story_query(stream, params, feeds)
    refs, more = _page(
        storage, user, query, _int_param(params, "n", DEFAULT_N, MAX_IDS), marks=False
    )
    body: dict[str, Any] = {
        "itemRefs": [
            {
                "id": str(r.story_id),
                "directStreamIds": [f"feed/{r.feed_id}"],
                "timestampUsec": str(_usec(r.time)),
            }
            for r in refs
        ]
    }
    if more:
        body["continuation"] = more
    return _json(body)


def _item_ids(params: Params) -> list[int]:
    ids = [parse_item_id(i) for i in params.all("i")]
    bad = [raw for raw, value in zip(params.all("i"), ids, strict=True) if value is None]
    if bad:
        raise HTTPException(400, f"i: not an item id: {bad[0]!r}")
    return [i for i in ids if i is not None]


def stream_items_contents(
    storage: Storage, user: ReaderAccount, auth: str, params: Params, _: str | None
) -> Response:
    ids = _item_ids(params)
    if len(ids) > MAX_CONTENTS:
        raise HTTPException(400, f"i: at most {MAX_CONTENTS} items at once")
    feeds = storage.reader_feeds(user.id)
    refs = storage.reader_story_refs(user.id, ids)
    refs.sort(key=lambda r: (r.time, r.item_id), reverse=params.get("r") != "o")
    return _json(
        {
            "id": READING_LIST,
            "updated": int(time.time()),
            "items": _contents(storage, user, refs, feeds),
        }
    )


def edit_tag(
    storage: Storage, user: ReaderAccount, auth: str, params: Params, _: str | None
) -> Response:
    ids = _item_ids(params)
    read: bool | None = None
    starred: bool | None = None
    for tag in params.all("a"):
        if _is_state(tag, "read"):
            read = True
        elif _is_state(tag, "starred"):
            starred = True
        elif _is_state(tag, "kept-unread"):
            read = False
    for tag in params.all("r"):
        if _is_state(tag, "read"):
            read = False
        elif _is_state(tag, "starred"):
            starred = False
    if ids and (read is not None or starred is not None):
        # Only stories this user can see: an id of a feed they do not read changes nothing.
        storage.reader_mark(user.id, ids, read=read, starred=starred)
    return PlainTextResponse("OK")


def mark_all_as_read(
    storage: Storage, user: ReaderAccount, auth: str, params: Params, _: str | None
) -> Response:
    stream = params.get("s") or READING_LIST
    feeds = storage.reader_feeds(user.id)
    query = story_query(stream, Params({}), feeds)
    ts = params.get("ts")
    if ts:
        try:
            older = datetime.fromtimestamp(int(ts) / 1_000_000, UTC)
        except (ValueError, OverflowError, OSError):
            raise HTTPException(400, f"ts: expected microseconds, got {ts!r}") from None
        query = dataclasses.replace(query, older_than=older)
    storage.reader_mark_all_read(user.id, query)
    return PlainTextResponse("OK")


def _feed_of_stream(stream: str, feeds: Sequence[ReaderFeed]) -> list[int]:
    found = _stream_feeds(stream, feeds)
    return found or []


def subscription_edit(
    policy: FetchPolicy,
    storage: Storage,
    user: ReaderAccount,
    auth: str,
    params: Params,
    _: str | None,
) -> Response:
    action = params.get("ac") or "edit"
    title = params.get("t")
    add_label = _label_name(params.get("a") or "")
    remove_label = _label_name(params.get("r") or "")
    for stream in params.all("s"):
        if action == "subscribe":
            try:
                feed_id = _subscribe_stream(storage, user, stream, policy)
            except FeedError as exc:
                raise HTTPException(400, f"s: {exc.message}: {stream!r}") from exc
            if feed_id is None:
                raise HTTPException(400, f"s: not a feed: {stream!r}")
            storage.reader_subscribe(user.id, feed_id, title=title, folder=add_label)
            continue
        feed_ids = _feed_of_stream(stream, storage.reader_feeds(user.id))
        if not feed_ids:
            raise HTTPException(404, f"s: not subscribed: {stream!r}")
        for feed_id in feed_ids:
            if action == "unsubscribe":
                storage.reader_unsubscribe(user.id, feed_id)
            elif action == "edit":
                folder = add_label if add_label is not None else ("" if remove_label else None)
                storage.reader_subscribe(user.id, feed_id, title=title, folder=folder)
            else:
                raise HTTPException(400, f"ac: expected subscribe, unsubscribe or edit: {action!r}")
    return PlainTextResponse("OK")


def _subscribe_stream(
    storage: Storage, user: ReaderAccount, stream: str, policy: FetchPolicy
) -> int | None:
    """The feed a ``feed/…`` stream names, added to the server when it is a new address;
    ``FeedError`` when that address may not be subscribed to from outside."""
    ref = stream[len("feed/") :] if stream.startswith("feed/") else stream
    if ref.isdigit():
        return int(ref) if storage.feed_exists(int(ref)) else None
    if not ref.startswith(("http://", "https://")):
        return None
    found = storage.feed_id_by_url(ref)
    if found is not None:
        return found  # already fetched by the server: subscribing adds nothing to fetch
    from aggregator.types import FeedSpec

    # A new address comes from outside the config file: the rule of the web form and the
    # OPML import (http(s) to a public address), not only each fetch's, so a private one is
    # refused now instead of being stored and failing at every poll.
    url = check_outside_url(ref, policy)
    feed, _created = storage.add_feed(FeedSpec(url=url), origin="web")
    storage.reader_subscribe(user.id, feed.id, added_by_user=True)
    return feed.id


def quickadd(
    policy: FetchPolicy,
    storage: Storage,
    user: ReaderAccount,
    auth: str,
    params: Params,
    _: str | None,
) -> Response:
    url = (params.get("quickadd") or "").strip()
    if url.startswith("feed/"):
        url = url[len("feed/") :]
    try:
        feed_id = _subscribe_stream(storage, user, url, policy)
    except FeedError as exc:
        return _json({"numResults": 0, "query": url, "error": exc.message})
    if feed_id is None:
        return _json({"numResults": 0, "query": url, "error": "not an http(s) feed address"})
    storage.reader_subscribe(user.id, feed_id)
    title = next((f.title for f in storage.reader_feeds(user.id) if f.feed_id == feed_id), url)
    return _json(
        {"numResults": 1, "query": url, "streamId": f"feed/{feed_id}", "streamName": title}
    )


# -- Atom (newsboat's feedhq source) ----------------------------------------------


def _atom_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _atom_category(term: str) -> str:
    label = term.rsplit("/", 1)[-1]
    return (
        f'<category term={quoteattr(term)} scheme="http://www.google.com/reader/" '
        f"label={quoteattr(label)}/>"
    )


def atom_stream(
    storage: Storage, user: ReaderAccount, auth: str, params: Params, rest: str | None
) -> Response:
    stream = unquote(rest or READING_LIST)
    feeds = storage.reader_feeds(user.id)
    query = story_query(stream, params, feeds)
    refs, more = _page(storage, user, query, _int_param(params, "n", DEFAULT_N, MAX_CONTENTS))
    by_feed = {f.feed_id: f for f in feeds}
    items = storage.reader_story_items([r.item_id for r in refs])
    title = stream
    ids = _stream_feeds(stream, feeds) if stream.startswith("feed/") else None
    if ids:
        title = by_feed[ids[0]].title
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:gr="http://www.google.com/schemas/reader/atom/">',
        f"<id>{escape('tag:google.com,2005:reader/' + stream)}</id>",
        f"<title>{escape(title)}</title>",
        f"<updated>{_atom_time(datetime.now(UTC))}</updated>",
    ]
    if more:
        parts.append(f"<gr:continuation>{escape(more)}</gr:continuation>")
    for ref in refs:
        item = items.get(ref.item_id)
        if item is None:
            continue
        feed = by_feed.get(ref.feed_id)
        link = safe_url(item.link)
        published = item.published or item.first_seen
        parts.append(f'<entry gr:crawl-timestamp-msec="{_usec(ref.time) // 1000}">')
        parts.append(f"<id>{escape(long_id(ref.story_id))}</id>")
        parts += [_atom_category(c) for c in _categories(ref, feed, user.id)]
        parts.append(f'<title type="html">{escape(item.title or "")}</title>')
        parts.append(f"<published>{_atom_time(published)}</published>")
        parts.append(f"<updated>{_atom_time(item.updated or published)}</updated>")
        if link:
            parts.append(f'<link rel="alternate" type="text/html" href={quoteattr(link)}/>')
        parts.append(f'<content type="html">{escape(sanitize_html(item.content_html))}</content>')
        if item.author:
            parts.append(f"<author><name>{escape(item.author)}</name></author>")
        if feed is not None:
            parts.append(
                f'<source gr:stream-id="feed/{feed.feed_id}"><title>{escape(feed.title)}</title>'
                "</source>"
            )
        parts.append("</entry>")
    parts.append("</feed>\n")
    return Response(
        "".join(parts),
        media_type="application/atom+xml; charset=utf-8",
        headers={"Cache-Control": "private, no-cache"},
    )


def routes() -> list[BaseRoute]:
    api = PREFIX + "/reader/api/0"
    both = ["GET", "POST"]
    calls: Iterable[tuple[str, Callable[[Request], Any], list[str]]] = [
        (PREFIX + "/accounts/ClientLogin", client_login, both),
        (api + "/token", _endpoint(token), both),
        (api + "/user-info", _endpoint(user_info), both),
        (api + "/subscription/list", _endpoint(subscription_list), both),
        (api + "/subscription/edit", _subscribing(subscription_edit), both),
        (api + "/subscription/quickadd", _subscribing(quickadd), both),
        (api + "/tag/list", _endpoint(tag_list), both),
        (api + "/unread-count", _endpoint(unread_count), both),
        (api + "/stream/contents", _endpoint(stream_contents), both),
        (api + "/stream/contents/{stream:path}", _endpoint(stream_contents), both),
        (api + "/stream/items/ids", _endpoint(stream_item_ids), both),
        (api + "/stream/items/contents", _endpoint(stream_items_contents), both),
        (api + "/edit-tag", _endpoint(edit_tag, write=True), both),
        (api + "/mark-all-as-read", _endpoint(mark_all_as_read, write=True), both),
        (PREFIX + "/reader/atom/{stream:path}", _endpoint(atom_stream), both),
    ]
    return [Route(path, handler, methods=methods) for path, handler, methods in calls]
