"""The Fever API at ``/api/fever/``: one item per story, read and saved per story, per user,
with the story semantics of the Google Reader API (:mod:`aggregator.publish.greader`).

A client sends ``?api`` with the form field ``api_key`` = ``md5("name:password")`` (hex),
for users added with ``users add NAME --fever``, and the flags it wants, several at once:
``groups``, ``feeds``, ``favicons`` (none), ``items`` (``since_id``, ``max_id``,
``with_ids``), ``links`` (none), ``unread_item_ids``, ``saved_item_ids``, and the writes
``mark=item&as=read|unread|saved|unsaved&id=N`` and ``mark=feed|group&as=read&id=N&
before=SECONDS``.  Every answer is JSON with ``api_version`` 3, ``auth`` and
``last_refreshed_on_time``.

Choices of this server:

- A missing or wrong key is answered **HTTP 401** with ``{"api_version": 3, "auth": 0}``
  (Fever itself answers 200 with ``auth: 0``; every API of this server refuses a missing
  or wrong credential with 401, and Fever clients read the ``auth`` field either way).
- An item id is the story's id (its first item's id, the short form of the Google Reader
  API); any copy's item id marks the story.  ``since_id`` pages upwards by story id,
  ``max_id`` (0 or none: from the top) downwards, 50 stories a page; ``with_ids`` takes
  the first 50 ids given.
- Groups are the user's folders (a feed's ``group:``, or the user's own folder), with
  ids derived from their names (a CRC-32, so they stay when folders come and go); group
  0 is every feed.  ``created_on_time`` and ``before`` use the story's time (the
  canonical copy's publication, else when it was first seen).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from aggregator.clean.sanitize import safe_url, sanitize_html
from aggregator.publish.accounts import digest
from aggregator.publish.context import storage_of
from aggregator.publish.greader import Params, params_of
from aggregator.storage import Storage
from aggregator.storage.readers import ReaderAccount, ReaderFeed, StoryQuery, StoryRef

PREFIX = "/api/fever"
API_VERSION = 3
PAGE = 50
"""Stories per ``items`` page, and the most ``with_ids`` takes."""
ALL_GROUPS = 0
MAX_ID_LIST = 10_000
"""The most ids one ``mark`` takes."""


def group_id(folder: str) -> int:
    """A folder's group id: stable for its name, positive, never 0 (the group of all)."""
    return (zlib.crc32(folder.encode("utf-8")) & 0x7FFFFFFF) or 1


def _seconds(when: datetime | None) -> int:
    return int(when.timestamp()) if when is not None else 0


def _int(params: Params, name: str) -> int | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise HTTPException(400, f"{name}: expected a number, got {value!r}") from None


def _ids(params: Params, name: str, most: int) -> list[int]:
    """A comma list of ids (``with_ids``, a ``mark`` id)."""
    out: list[int] = []
    for part in (params.get(name) or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(int(part))
        except ValueError:
            raise HTTPException(400, f"{name}: not an item id: {part!r}") from None
        if len(out) >= most:
            break
    return out


def _before(params: Params) -> datetime | None:
    value = _int(params, "before")
    if value is None or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise HTTPException(400, f"before: expected seconds since 1970, got {value}") from None


def _refused() -> Response:
    return JSONResponse(
        {"api_version": API_VERSION, "auth": 0},
        status_code=401,
        headers={"Cache-Control": "private, no-cache"},
    )


def authenticate(storage: Storage, params: Params) -> ReaderAccount | None:
    key = (params.get("api_key") or "").strip()
    if not key:
        return None
    return storage.reader_for_fever_key(digest(key))


# -- what the flags answer --------------------------------------------------------


def _feeds_groups(feeds: Sequence[ReaderFeed]) -> list[dict[str, Any]]:
    by_group: dict[int, list[int]] = {}
    for feed in feeds:
        if feed.folder:
            by_group.setdefault(group_id(feed.folder), []).append(feed.feed_id)
    return [
        {"group_id": gid, "feed_ids": ",".join(str(f) for f in sorted(ids))}
        for gid, ids in sorted(by_group.items())
    ]


def _groups(feeds: Sequence[ReaderFeed]) -> list[dict[str, Any]]:
    names = sorted({f.folder for f in feeds if f.folder})
    return [{"id": group_id(name), "title": name} for name in names]


def _feed_json(feed: ReaderFeed) -> dict[str, Any]:
    return {
        "id": feed.feed_id,
        "favicon_id": 0,
        "title": feed.title,
        "url": feed.fetch_url,
        "site_url": safe_url(feed.fetch_url) or "",
        "is_spark": 0,
        "last_updated_on_time": _seconds(feed.last_success),
    }


def _items(storage: Storage, user: ReaderAccount, params: Params) -> list[dict[str, Any]]:
    with_ids = _ids(params, "with_ids", PAGE) if params.get("with_ids") is not None else None
    since_id = _int(params, "since_id")
    max_id = _int(params, "max_id")
    refs: list[StoryRef]
    if with_ids is not None:
        refs = storage.reader_story_refs(user.id, with_ids) if with_ids else []
        refs.sort(key=lambda r: r.story_id)
    elif since_id is not None:
        query = StoryQuery(min_story_id=since_id)
        refs = storage.reader_stories_by_id(user.id, query, PAGE)
    else:
        # max_id (0 or none: from the newest story down).
        query = StoryQuery(max_story_id=max_id if max_id else None)
        refs = storage.reader_stories_by_id(user.id, query, PAGE, descending=True)
    shown = storage.reader_story_items([r.item_id for r in refs])
    out: list[dict[str, Any]] = []
    for ref in refs:
        item = shown.get(ref.item_id)
        if item is None:
            continue
        out.append(
            {
                "id": ref.story_id,
                "feed_id": ref.feed_id,
                "title": item.title or "",
                "author": item.author or "",
                "html": sanitize_html(item.content_html),
                "url": safe_url(item.link) or "",
                "is_saved": int(ref.starred),
                "is_read": int(ref.read),
                "created_on_time": _seconds(ref.time),
            }
        )
    return out


def _id_list(ids: Sequence[int]) -> str:
    return ",".join(str(i) for i in ids)


def _mark(
    storage: Storage, user: ReaderAccount, params: Params, feeds: Sequence[ReaderFeed]
) -> str | None:
    """Apply a ``mark``; the list the client should refresh (``unread_item_ids`` or
    ``saved_item_ids``), or None when nothing was asked."""
    kind = (params.get("mark") or "").strip()
    action = (params.get("as") or "").strip()
    if not kind:
        return None
    if kind == "item":
        flags: dict[str, dict[str, bool]] = {
            "read": {"read": True},
            "unread": {"read": False},
            "saved": {"starred": True},
            "unsaved": {"starred": False},
        }
        if action not in flags:
            raise HTTPException(400, f"as: expected read, unread, saved or unsaved: {action!r}")
        ids = _ids(params, "id", MAX_ID_LIST)
        if ids:
            # Only stories this user can see; any copy's id names its story.
            storage.reader_mark(user.id, ids, **flags[action])
        return "unread_item_ids" if action in ("read", "unread") else "saved_item_ids"
    if kind in ("feed", "group"):
        if action != "read":
            raise HTTPException(400, f"as: a {kind} is only marked read, not {action!r}")
        target = _int(params, "id")
        if target is None:
            raise HTTPException(400, "id: missing")
        before = _before(params)
        feed_ids: list[int] | None
        if kind == "feed":
            feed_ids = [target]
        elif target == ALL_GROUPS:
            feed_ids = None
        else:
            feed_ids = [f.feed_id for f in feeds if f.folder and group_id(f.folder) == target]
        if feed_ids is None or feed_ids:
            storage.reader_mark_all_read(user.id, StoryQuery(feed_ids=feed_ids, older_than=before))
        return "unread_item_ids"
    raise HTTPException(400, f"mark: expected item, feed or group: {kind!r}")


def answer(storage: Storage, user: ReaderAccount, params: Params) -> dict[str, Any]:
    """The response to one authenticated call: writes first, then what the flags ask."""
    feeds = storage.reader_feeds(user.id)
    refresh = _mark(storage, user, params, feeds)
    body: dict[str, Any] = {
        "api_version": API_VERSION,
        "auth": 1,
        "last_refreshed_on_time": max((_seconds(f.last_success) for f in feeds), default=0),
    }
    asked = set(params.values)
    if "groups" in asked:
        body["groups"] = _groups(feeds)
    if "feeds" in asked:
        body["feeds"] = [_feed_json(f) for f in feeds]
    if "groups" in asked or "feeds" in asked:
        body["feeds_groups"] = _feeds_groups(feeds)
    if "favicons" in asked:
        body["favicons"] = []
    if "items" in asked:
        body["items"] = _items(storage, user, params)
        body["total_items"] = storage.reader_story_count(user.id, StoryQuery())
    if "links" in asked:
        body["links"] = []
    if "unread_item_ids" in asked or refresh == "unread_item_ids":
        body["unread_item_ids"] = _id_list(storage.reader_story_ids(user.id, read=False))
    if "saved_item_ids" in asked or refresh == "saved_item_ids":
        body["saved_item_ids"] = _id_list(storage.reader_story_ids(user.id, starred=True))
    return body


async def endpoint(request: Request) -> Response:
    params = await params_of(request)
    storage = storage_of(request)

    def run() -> Response:
        user = authenticate(storage, params)
        if user is None:
            return _refused()
        return JSONResponse(
            answer(storage, user, params), headers={"Cache-Control": "private, no-cache"}
        )

    response: Response = await run_in_threadpool(run)
    return response


def routes() -> list[BaseRoute]:
    methods = ["GET", "POST"]
    return [
        Route(PREFIX + "/", endpoint, methods=methods),
        Route(PREFIX, endpoint, methods=methods),
    ]
