"""Sanitised HTML for output: what our feeds and pages hand to readers and browsers.

Feeds supply HTML we do not trust.  Ingest keeps the source's content for display and
fingerprinting; everything we *publish* goes through :func:`sanitize_html` last, so a
script, an event handler or a ``javascript:`` link never leaves this process, whatever
the parser let through.  nh3 (Rust's ammonia) is an allow-list sanitiser: unknown tags
and attributes are dropped, ``<script>``/``<style>`` lose their content too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import nh3

__all__ = ["safe_url", "sanitize_html"]

URL_SCHEMES = frozenset({"http", "https", "mailto"})
"""Schemes a published link may use; ``javascript:``, ``data:``, ``vbscript:``… are dropped."""

_CLEANER = nh3.Cleaner(
    url_schemes=set(URL_SCHEMES),
    # Content of these is code or layout, never story text: drop it with the tag.
    clean_content_tags={
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "object",
        "embed",
        "svg",
        "math",
    },
    # Readers show our output on their own pages; a link must not hand them a referrer
    # or a window handle, and must not pass on search-engine credit for spam.
    link_rel="noopener noreferrer nofollow",
)


def sanitize_html(fragment: str | None) -> str:
    """An HTML fragment with only harmless markup left (may be empty)."""
    if not fragment:
        return ""
    return _CLEANER.clean(fragment)


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) link we may publish in an ``href``, else None.

    Feeds' links go into attributes of our pages and feeds: a ``javascript:`` or ``data:``
    link there would run in the reader's browser even after HTML escaping.
    """
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ch in url for ch in "\x00\r\n\t<>\"' "):
        return None
    return url
