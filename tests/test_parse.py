"""Golden-file tests of :func:`aggregator.parse.document.parse_feed`.

Every document in ``tests/golden/`` describes itself (a header comment, or
``_description`` keys in JSON) and has a ``NAME.expected.json`` beside it, written
by hand against the document.  An expected file holds one of:

* a parsed result (``title``, ``link``, ``warning`` and per entry ``source_id``,
  ``link``, ``title``, ``author``, ``published``/``updated`` in ISO 8601 UTC,
  ``has_full_content``, a ``content_contains`` substring of ``content_html``, and
  optionally ``content_lacks`` and ``clean_title``).  ``warning`` is null or a
  substring the warning must contain (survivable damage); ``partial`` means only
  the listed leading entries are checked;
* ``error``: substrings of the ``ParseError`` message;
* ``safe``: a hostile document (entity expansion, XXE) that may parse or fail but
  must stay small and never carry what it tried to smuggle in.

Documents are parsed as if fetched over HTTP from ``https://example.org/feeds/NAME``
with the Content-Type their extension implies.  Result documents are compared
aspect by aspect (feed, identity, dates, authors, content, clean) so that a known
bug in one aspect does not hide regressions in the others.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from aggregator.clean.sanitize import sanitize_html
from aggregator.clean.text import clean_entry
from aggregator.errors import ParseError
from aggregator.parse.document import parse_feed
from aggregator.types import ParsedEntry, ParsedFeed

GOLDEN = Path(__file__).resolve().parent / "golden"
EXPECTED_SUFFIX = ".expected.json"
CONTENT_TYPES = {
    ".xml": "application/rss+xml",
    ".rdf": "application/rdf+xml",
    ".atom": "application/atom+xml",
    ".json": "application/feed+json",
    ".html": "text/html; charset=utf-8",
}
ASPECTS = ("feed", "identity", "dates", "authors", "content", "clean")


def _documents() -> list[Path]:
    return sorted(
        p for p in GOLDEN.iterdir() if p.is_file() and not p.name.endswith(EXPECTED_SUFFIX)
    )


def _expected_path(doc: Path) -> Path:
    return doc.with_name(doc.stem + EXPECTED_SUFFIX)


def _expected(doc: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_expected_path(doc).read_text(encoding="utf-8"))
    return data


def _url(doc: Path) -> str:
    return f"https://example.org/feeds/{doc.name}"


def _parse(doc: Path, headers: dict[str, str] | None = None) -> ParsedFeed:
    if headers is None:
        headers = {"content-type": CONTENT_TYPES[doc.suffix]}
    return parse_feed(_url(doc), doc.read_bytes(), headers)


def _kind(doc: Path) -> str:
    expected = _expected(doc)
    if "error" in expected:
        return "error"
    if expected.get("safe"):
        return "safe"
    return "result"


def _result_params() -> list[Any]:
    params = []
    for doc in _documents():
        if _expected_path(doc).exists() and _kind(doc) == "result":
            for aspect in ASPECTS:
                params.append(pytest.param(doc, aspect, id=f"{doc.stem}-{aspect}"))
    return params


def _docs_of(kind: str) -> list[Any]:
    return [
        pytest.param(doc, id=doc.stem)
        for doc in _documents()
        if _expected_path(doc).exists() and _kind(doc) == kind
    ]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _pairs(feed: ParsedFeed, expected: dict[str, Any]) -> list[tuple[ParsedEntry, dict[str, Any]]]:
    wanted: list[dict[str, Any]] = expected["entries"]
    return list(zip(feed.entries, wanted, strict=False))


# -- the golden files themselves ------------------------------------------------------------


def test_every_document_has_an_expected_file_and_back() -> None:
    docs = _documents()
    assert len(docs) >= 20
    assert [d.name for d in docs if not _expected_path(d).exists()] == []
    stems = {d.stem for d in docs}
    orphans = [
        p.name
        for p in GOLDEN.glob("*" + EXPECTED_SUFFIX)
        if p.name[: -len(EXPECTED_SUFFIX)] not in stems
    ]
    assert orphans == []


# -- documents that parse -------------------------------------------------------------------


@pytest.mark.parametrize(("doc", "aspect"), _result_params())
def test_golden(doc: Path, aspect: str) -> None:
    expected = _expected(doc)
    feed = _parse(doc)
    pairs = _pairs(feed, expected)

    if aspect == "feed":
        count = len(feed.entries)
        wanted_count = len(expected["entries"])
        assert (feed.title, feed.link) == (expected["title"], expected["link"])
        assert count >= wanted_count if expected.get("partial") else count == wanted_count
        if expected["warning"] is None:
            assert feed.warning is None
        else:
            assert feed.warning is not None and expected["warning"] in feed.warning
    elif aspect == "identity":
        assert [(e.source_id, e.link, e.title) for e, _ in pairs] == [
            (w["source_id"], w["link"], w["title"]) for _, w in pairs
        ]
    elif aspect == "dates":
        assert [(_iso(e.published), _iso(e.updated)) for e, _ in pairs] == [
            (w["published"], w["updated"]) for _, w in pairs
        ]
        for entry, _ in pairs:
            for value in (entry.published, entry.updated):
                assert value is None or value.utcoffset() is not None, "naive datetime"
    elif aspect == "authors":
        assert [e.author for e, _ in pairs] == [w["author"] for _, w in pairs]
    elif aspect == "content":
        # Feed markup is stored as sent and sanitised once, where it is shown (feeds,
        # pages): what must never reach a reader is checked on that sanitised form.
        actual = [
            {
                "has_full_content": e.has_full_content,
                "contains": w["content_contains"] in e.content_html,
                "present but forbidden": [
                    s for s in w.get("content_lacks", []) if s in sanitize_html(e.content_html)
                ],
                "content_html": e.content_html,
            }
            for e, w in pairs
        ]
        wanted = [
            {
                "has_full_content": w["has_full_content"],
                "contains": True,
                "present but forbidden": [],
                "content_html": e.content_html,
            }
            for e, w in pairs
        ]
        assert actual == wanted
    elif aspect == "clean":
        cleaned = [clean_entry(e) for e in feed.entries]
        assert all(item.entry_id for item in cleaned)
        titled = [
            (c.title, w["clean_title"])
            for c, (_, w) in zip(cleaned, pairs, strict=False)
            if "clean_title" in w
        ]
        assert [a for a, _ in titled] == [w for _, w in titled]


# -- documents that must be refused -----------------------------------------------------------


@pytest.mark.parametrize("doc", _docs_of("error"))
def test_broken_document_raises_parse_error(doc: Path) -> None:
    expected = _expected(doc)
    with pytest.raises(ParseError) as info:
        _parse(doc)
    message = str(info.value)
    assert info.value.url == _url(doc)
    assert message.startswith(_url(doc) + ": ")
    assert "\n" not in message and "Traceback" not in message
    missing = [s for s in expected["error"] if s not in message]
    assert missing == [], message


# -- hostile documents ------------------------------------------------------------------------


def _output_of(doc: Path) -> str:
    """Everything parsing (and cleaning) the document shows: result or error message."""
    try:
        feed = _parse(doc)
    except ParseError as exc:
        return str(exc)
    cleaned = [clean_entry(e) for e in feed.entries]
    return repr(feed) + repr(cleaned)


@pytest.mark.parametrize("doc", _docs_of("safe"))
def test_hostile_document_is_defused(doc: Path) -> None:
    expected = _expected(doc)
    started = time.monotonic()
    output = _output_of(doc)
    assert time.monotonic() - started < 5.0
    assert len(output) <= expected["max_output_chars"]
    for text in expected.get("never_contains", []):
        assert text not in output
    secret_file = expected.get("never_contains_file")
    if secret_file:
        path = Path(secret_file)
        if not path.is_file():
            pytest.skip(f"{secret_file} does not exist on this machine")
        lines = [
            line for line in path.read_text(errors="replace").splitlines() if len(line.strip()) >= 6
        ]
        assert lines, f"{secret_file} has nothing to look for"
        leaked = [line for line in lines if line in output]
        assert leaked == []
        assert "root:x:0" not in output and "/bin/" not in output


# -- the same documents without response headers -----------------------------------------------


def test_without_headers_relative_links_resolve_against_the_feed_url() -> None:
    # With no headers at all, parse_feed gives feedparser the URL as Content-Location.
    doc = GOLDEN / "rss20-relative-links.xml"
    feed = _parse(doc, headers={})
    assert feed.link == "https://example.org/"
    assert [e.link for e in feed.entries] == [
        "https://example.org/feeds/posts/one",
        "https://example.org/posts/two",
        "https://cdn.example.net/mirror/posts/three",
    ]


def test_missing_content_type_is_not_a_warning() -> None:
    # A missing Content-Type (a local file, a bare server) says nothing about the feed;
    # a warning would be stored as the feed's last_error after every poll.
    doc = GOLDEN / "rss20-description-only.xml"
    feed = _parse(doc, headers={})
    assert len(feed.entries) == 3
    assert feed.warning is None


def test_html_page_without_content_type_is_named_as_html() -> None:
    doc = GOLDEN / "broken-html-page.html"
    with pytest.raises(ParseError, match="HTML"):
        _parse(doc, headers={})


def test_lying_encoding_survives_whatever_the_headers_say() -> None:
    doc = GOLDEN / "broken-lying-encoding.xml"
    for content_type in ("application/rss+xml; charset=utf-8", "text/xml", None):
        headers = {"content-type": content_type} if content_type else {}
        feed = _parse(doc, headers=headers)
        assert [e.title for e in feed.entries] == ["Crème brûlée contest"]
        assert feed.warning is not None and "CharacterEncodingOverride" in feed.warning


# -- feedparser must only ever see the body ----------------------------------------------------


def test_body_naming_a_local_file_is_not_read_from_disk() -> None:
    local_feed = GOLDEN / "rss20-content-encoded.xml"
    body = str(local_feed).encode()
    with pytest.raises(ParseError):
        parse_feed(
            "https://evil.example.org/feed.xml", body, {"content-type": "application/rss+xml"}
        )
