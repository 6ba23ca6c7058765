"""Query parameters of the web face, validated with limits.

Every value a client sends is bounded (numbers to a range, strings to a length, times to
ISO 8601) and a bad one is a 400 naming the parameter, never a 500 deep in a query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000
MAX_TEXT = 200
MAX_ID = 2**31 - 1
"""Ids are database integers; larger ones cannot exist (and would overflow PostgreSQL)."""


def bad_request(name: str, message: str) -> HTTPException:
    return HTTPException(400, f"query parameter {name!r}: {message}")


def _raw(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise bad_request(name, "given more than once")
    return values[0] if values else None


def int_param(request: Request, name: str, default: int, minimum: int, maximum: int) -> int:
    raw = _raw(request, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip(), 10)
    except ValueError:
        raise bad_request(name, f"expected a whole number, got {raw[:40]!r}") from None
    if not minimum <= value <= maximum:
        raise bad_request(name, f"must be between {minimum} and {maximum}, got {value}")
    return value


def optional_id(request: Request, name: str) -> int | None:
    raw = _raw(request, name)
    if raw is None or raw == "":
        return None
    return int_param(request, name, 0, 1, MAX_ID)


def text_param(request: Request, name: str) -> str | None:
    raw = _raw(request, name)
    if raw is None or raw == "":
        return None
    if len(raw) > MAX_TEXT:
        raise bad_request(name, f"longer than {MAX_TEXT} characters")
    if any(ord(ch) < 32 for ch in raw):
        raise bad_request(name, "contains control characters")
    return raw


def time_param(request: Request, name: str) -> datetime | None:
    """ISO 8601 (``2026-11-20``, ``2026-11-20T08:00:00Z``, with an offset); naive is UTC."""
    raw = _raw(request, name)
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if len(text) > 40:
        raise bad_request(name, "too long for a date")
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise bad_request(
            name,
            f"expected an ISO 8601 date or time such as 2026-11-20 or "
            f"2026-11-20T08:00:00Z, got {text!r}",
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise bad_request(name, f"out of range: {text!r}") from None


def flag_param(request: Request, name: str) -> bool:
    raw = _raw(request, name)
    if raw is None:
        return False
    if raw.lower() in ("", "1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise bad_request(name, f"expected true or false, got {raw[:40]!r}")


MAX_IDS = 100
"""Feeds one request may name (``feed=1,2,3``)."""


def id_list_param(request: Request, name: str) -> list[int] | None:
    """Ids separated by commas (``3`` or ``3,7,12``), each a valid id; None when absent."""
    raw = _raw(request, name)
    if raw is None or raw.strip() == "":
        return None
    parts = raw.split(",")
    if len(parts) > MAX_IDS:
        raise bad_request(name, f"at most {MAX_IDS} ids")
    ids: list[int] = []
    for part in parts:
        try:
            value = int(part.strip(), 10)
        except ValueError:
            raise bad_request(
                name, f"expected an id or ids separated by commas, got {raw[:40]!r}"
            ) from None
        if not 1 <= value <= MAX_ID:
            raise bad_request(name, f"must be between 1 and {MAX_ID}, got {value}")
        if value not in ids:
            ids.append(value)
    return ids


@dataclass(frozen=True)
class Filters:
    """The filters shared by the feeds, the API and the pages."""

    group: str | None = None
    feed_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def filters(request: Request) -> Filters:
    # ``since`` after ``until`` is an empty range, not an error: it selects nothing.
    return Filters(
        group=text_param(request, "group"),
        feed_id=optional_id(request, "feed"),
        since=time_param(request, "since"),
        until=time_param(request, "until"),
    )


def feed_filters(request: Request) -> Filters:
    """:func:`filters` for the published feeds, whose ``feed`` is a set of ids
    (:func:`id_list_param`), read apart."""
    return Filters(
        group=text_param(request, "group"),
        since=time_param(request, "since"),
        until=time_param(request, "until"),
    )


def page_params(request: Request, default_limit: int = 50) -> tuple[int, int]:
    """``(limit, offset)``."""
    return (
        int_param(request, "limit", default_limit, 1, MAX_LIMIT),
        int_param(request, "offset", 0, 0, MAX_OFFSET),
    )
