"""Conditional GET for what readers poll: ETag and Last-Modified, 304 on a match.

The ETag is a hash of the body itself, so it changes exactly when the bytes do (whatever
changed them: a new copy, a correction, a renamed feed) and two requests for the same
content always agree.  Last-Modified is the time of the last cluster change; it is only
consulted when the client sent no If-None-Match (RFC 9110 §13.1.3).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response


def etag_for(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def http_date(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    # Weak comparison: a proxy may have marked our tag weak (W/"…"); the body is the same.
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag in tags


def _not_modified_since(header: str, last_modified: datetime) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False  # an unparseable date is ignored, as the RFC says
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


def conditional_response(
    request: Request, body: bytes, media_type: str, last_modified: datetime | None
) -> Response:
    """``body`` with validators, or an empty 304 when the client's copy is current."""
    etag = etag_for(body)
    # no-cache: a reader may keep the document but must ask again (cheaply, with the
    # validators) before using it, so new stories show up at its next poll.
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified)
    if_none_match = request.headers.get("if-none-match")
    if_modified_since = request.headers.get("if-modified-since")
    if if_none_match is not None:
        fresh = _etag_matches(if_none_match, etag)
    elif if_modified_since is not None and last_modified is not None:
        fresh = _not_modified_since(if_modified_since, last_modified)
    else:
        fresh = False
    if fresh:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
