"""Parsing that keeps what the feed says (issue 17), on both XML paths.

The ``tests/golden/fidelity-*`` documents were written for these cases: content and
summary of either length, authors by each format's rules (Atom ``<source>``, JSON Feed
1.1 top-level authors), JSON Feed values of the wrong type, relative links in content
and summary, ``isPermaLink`` guids, plain-text and HTML content, several ``<content>``
elements, ``xml:base``, entries without links and time zone offsets.  Each has its
expected parse beside it (``NAME.expected.json``, read by ``tests/test_parse.py`` too).

Here every XML document goes through both readers: feedparser's path always, and the
fast reader, which either reads it to the same result or declines it as the expected
file says (``fast_reader``).  Markup is compared as text and link targets, the two
readers writing the same markup differently.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from aggregator.clean.text import clean_entry, html_to_blocks
from aggregator.parse.document import parse_feed, parse_with_feedparser
from aggregator.parse.fast_xml import NeedsFeedparser, read_plain_feed
from aggregator.parse.feedvalues import Text, entry_texts, web_link
from aggregator.types import ParsedEntry, ParsedFeed

GOLDEN = Path(__file__).resolve().parent / "golden"
CONTENT_TYPES = {
    ".xml": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/feed+json",
}
DOCUMENTS = sorted(p for p in GOLDEN.glob("fidelity-*") if not p.name.endswith(".expected.json"))


def _expected(doc: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        doc.with_name(doc.stem + ".expected.json").read_text(encoding="utf-8")
    )
    return data


def _url(doc: Path) -> str:
    return f"https://example.org/feeds/{doc.name}"


def _targets(markup: str) -> list[str]:
    found = re.findall(r"""\s(?:href|src)=["']([^"']*)["']""", markup)
    return [html.unescape(t) for t in found if t.startswith(("http:", "https:"))]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _readings(doc: Path) -> dict[str, ParsedFeed]:
    """The document as each path reads it (the fast reader only where it takes it)."""
    body = doc.read_bytes()
    headers = {"content-type": CONTENT_TYPES[doc.suffix]}
    url = _url(doc)
    readings = {"parse_feed": parse_feed(url, body, headers)}
    if doc.suffix == ".json":
        return readings
    readings["feedparser"] = parse_with_feedparser(url, body, headers, url)
    if _expected(doc)["fast_reader"]:
        readings["fast"] = read_plain_feed(body, headers, url)
    else:
        with pytest.raises(NeedsFeedparser):
            read_plain_feed(body, headers, url)
    return readings


def _as_expected(entry: ParsedEntry, wanted: dict[str, Any]) -> dict[str, Any]:
    """``entry`` in the expected file's terms (checks that are not equalities folded in)."""
    return {
        "source_id": entry.source_id,
        "link": entry.link,
        "title": entry.title,
        "author": entry.author,
        "authors": [{"name": a.name, "email": a.email, "url": a.url} for a in entry.authors],
        "published": _iso(entry.published),
        "updated": _iso(entry.updated),
        "has_full_content": entry.has_full_content,
        "content_contains": wanted["content_contains"]
        if wanted["content_contains"] in " ".join(html_to_blocks(entry.content_html))
        or wanted["content_contains"] in entry.content_html
        else entry.content_html,
        "text": "\n".join(html_to_blocks(entry.content_html)),
        "summary_text": "\n".join(html_to_blocks(entry.summary_html)),
        "links": _targets(entry.content_html),
        "summary_links": _targets(entry.summary_html),
        "content_has": [s for s in wanted.get("content_has", []) if s in entry.content_html],
        "content_lacks": [
            s for s in wanted.get("content_lacks", []) if s not in entry.content_html
        ],
    }


@pytest.mark.parametrize("doc", DOCUMENTS, ids=[d.stem for d in DOCUMENTS])
def test_fidelity_document_on_every_path(doc: Path) -> None:
    expected = _expected(doc)
    wanted = [
        {"summary_links": [], "content_has": [], "content_lacks": [], **w}
        for w in expected["entries"]
    ]
    for path, feed in _readings(doc).items():
        assert (path, feed.title, feed.link) == (path, expected["title"], expected["link"])
        if expected["warning"] is None:
            assert feed.warning is None, path
        else:
            assert feed.warning is not None and expected["warning"] in feed.warning, path
            assert [n for n in expected.get("warning_names", []) if n not in feed.warning] == []
        actual = [_as_expected(e, w) for e, w in zip(feed.entries, wanted, strict=True)]
        assert (path, actual) == (path, wanted)


def test_there_is_a_fidelity_document_for_each_case() -> None:
    names = {d.stem for d in DOCUMENTS}
    assert len(names) >= 12
    # Both XML paths read some, the fast reader declines others: each way is exercised.
    xml = [d for d in DOCUMENTS if d.suffix != ".json"]
    assert {bool(_expected(d)["fast_reader"]) for d in xml} == {True, False}


# -- the content/summary choice, and what clean_entry makes of it --------------------------


def test_the_longer_description_is_fingerprinted_and_the_content_kept_as_summary() -> None:
    doc = GOLDEN / "fidelity-rss-content-vs-description.xml"
    for feed in _readings(doc).values():
        item = clean_entry(feed.entries[0])
        assert item.text == "Here is some text containing an interesting description."
        assert html_to_blocks(item.summary_html) == ["Example content"]
        assert item.is_summary  # a short text from a feed whose content said less
        usual = clean_entry(feed.entries[2])
        assert usual.text.startswith("A new crane arrives at the harbour on Thursday")
        assert html_to_blocks(usual.summary_html) == ["A new crane arrives at the harbour."]


def test_entry_texts_rules() -> None:
    long_html = Text("<p>Alpha beta gamma delta.</p>", True)
    same_plain = Text("Alpha beta gamma delta.", False)
    short = Text("Alpha.", False)
    # Nothing but a summary: it is the text, and not full content.
    assert entry_texts([], short) == (short.html, "", False)
    assert entry_texts([], None) == ("", "", False)
    # The same words in a summary are not kept twice.
    assert entry_texts([long_html], same_plain) == (long_html.html, "", True)
    # A longer summary wins and the content is kept beside it.
    assert entry_texts([short], long_html) == (long_html.html, short.html, False)
    # Equal length, different words: markup before plain text.
    other_plain = Text("Omega sigma kappa thet.", False)  # as many letters
    assert entry_texts([other_plain], long_html) == (long_html.html, other_plain.html, False)
    # Several contents: the one that says most; equal ones, the HTML one.
    assert entry_texts([same_plain, long_html, short], None) == (long_html.html, "", True)
    # Length counts text, not markup or whitespace.
    marked = Text('<p class="lead"><a href="https://x.example/">Alpha</a></p>', True)
    assert entry_texts([marked], Text("Alpha beta.", False)).has_full_content is False


def test_an_id_is_a_link_only_when_it_is_a_web_address() -> None:
    assert web_link("tag:x.example,2025:1", "tag:x.example,2025:1") is None
    assert web_link("urn:uuid:1", "urn:uuid:1") is None
    assert web_link("https://x.example/1", "https://x.example/1") == "https://x.example/1"
    assert web_link("https://x.example/1", "tag:x.example,2025:1") == "https://x.example/1"
    assert web_link(None, "tag:x") is None


# -- JSON Feed values of the wrong type ----------------------------------------------------


def test_json_wrong_types_are_counted_beyond_those_named() -> None:
    feed = parse_feed(
        "https://example.org/feeds/typed.json",
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": ["not", "a", "title"],
                "items": [{"id": str(n), "url": n, "title": "T"} for n in range(8)],
            }
        ).encode(),
        {"content-type": "application/feed+json"},
    )
    assert feed.title is None
    assert [e.link for e in feed.entries] == [None] * 8
    assert feed.warning is not None
    assert "items[0].url (number)" in feed.warning
    assert feed.warning.endswith("and 4 more")  # 9 wrong values, 5 named


def test_json_feed_without_wrong_values_has_no_warning() -> None:
    feed = parse_feed(
        "https://example.org/feeds/fine.json",
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "Fine",'
        b' "items": [{"id": 7, "url": "https://fine.example/7", "content_text": "x"}]}',
        {"content-type": "application/feed+json"},
    )
    assert feed.warning is None
    assert feed.entries[0].source_id == "7"  # JSON Feed 1.1: a number id is coerced
