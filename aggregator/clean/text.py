"""Text for humans and text for fingerprints.  Pure functions, no I/O.

* :func:`html_to_blocks` turns entry HTML into readable blocks (one per paragraph,
  list item, heading or ``<br>``-separated line).
* :func:`fold` normalises a block for comparison: NFKC, one kind of quote and dash,
  collapsed whitespace, case-folded.
* :func:`generic_boilerplate` recognises lines every kind of feed carries ("Read
  more", share bars, "The post … appeared first on …", sponsor lines).  Lines that
  recur in one network's items are learned separately (:mod:`aggregator.clean.boilerplate`).
* :func:`canonical_url` drops tracking parameters and fragments so one article has
  one link.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aggregator.types import CleanItem, ParsedEntry, Person

_DROP_ELEMENTS = re.compile(
    r"<(script|style|noscript|template|iframe|object|svg|math)\b[^>]*>.*?</\1\s*>|<!--.*?-->",
    re.IGNORECASE | re.DOTALL,
)
BLOCK_ELEMENTS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
    | {"pre", "tr", "td", "th", "table", "section", "article", "header", "footer", "aside"}
    | {"figure", "figcaption", "hr", "dd", "dt", "dl", "main", "nav", "address"}
)
"""Elements that end a text block (what :func:`html_to_blocks` cuts at; the published-content
cleaner cuts at the same ones, so its blocks are the ones boilerplate was learned from)."""
_BLOCK_TAGS = re.compile(
    r"</?(?:" + "|".join(sorted(BLOCK_ELEMENTS, key=len, reverse=True)) + r")\b"
    r"(?:[^>\"']|\"[^\"]*\"|'[^']*')*>",
    re.IGNORECASE,
)
# Quote-aware, as browsers read tags: a ">" inside a quoted attribute value does not end the
# tag (alternatives start with different characters, so this stays linear).
_TAG = re.compile(r"""</?[a-zA-Z!?](?:[^>"']|"[^"]*"|'[^']*')*>""")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_INVISIBLE_OR_CONTROL = re.compile(f"{_INVISIBLE.pattern}|{_CONTROL.pattern}")

_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u2026": "...",
    }
)

# Words of at least one letter or digit, by Unicode category (not ASCII): Hangul, Cyrillic,
# Greek... come out as words.  Scripts written without spaces are split per character.
_WORD = re.compile(r"\w+", re.UNICODE)
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f]")

# Tracking parameters: analytics campaigns, ad-click ids, newsletter ids, "ref=rss".
_TRACKING_PREFIXES = ("utm_", "at_", "mtm_", "pk_", "hsa_", "_hs", "oly_", "vero_", "mc_")
_TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "wickedid",
        "_ga",
        "_gl",
        "mkt_tok",
        "ref",
        "ref_src",
        "ref_url",
        "cmpid",
        "ncid",
        "sr_share",
        "s_cid",
        "spm",
        "xtor",
        "rss",
        "feed",
        "feedname",
        "campaign_id",
        "srsltid",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
    }
)

_TRUNCATION = re.compile(
    r"(?:\s*(?:\[\s*(?:\.\.\.|…)\s*\]|\(\s*more\s*(?:\.\.\.|…)?\s*\)|\.\.\.|…)\s*"
    r"(?:read more|continue reading|read the full (?:story|article|post)|more)?\s*[.!»>]*"
    r"|\s+(?:read more|continue reading|read the full (?:story|article|post))\s*[.!»>]*)$",
    re.IGNORECASE,
)

# Blocks that real feeds everywhere carry and that say nothing about the story.
_GENERIC_BLOCKS = [
    re.compile(p)
    for p in (
        r"^the post .{1,300} appeared first on .{1,200}$",
        r"^(?:read|see|view|click here to read) (?:the )?(?:more|full (?:story|article|post)|"
        r"original (?:story|article|post)|article|story)\b.{0,60}$",
        r"^continue reading\b.{0,80}$",
        r"^(?:\[\s*)?(?:\.\.\.|more|\(more\.*\))(?:\s*\])?$",
        r"^(?:share|tweet|email|print|pin|like|follow)"
        r"(?: (?:this|it|on|via|to|with|article|story|post|page|facebook|twitter|x|linkedin|"
        r"reddit|whatsapp|telegram|pinterest|email|e-mail|print|us))*$",
        r"^(?:advertisement|sponsored(?: content)?|ad|promoted|partner content)$",
        r"^(?:this|the) (?:article|story|post|content|piece|newsletter|episode|feature) "
        r"(?:is|was) (?:sponsored|brought to you|presented|supported|paid for|underwritten) by\b"
        r".{0,120}$",
        r"^(?:sponsored|brought to you|presented|supported|powered) by\b.{0,120}$",
    )
]

MIN_IDENTITY_TOKENS = 8
"""Fewer words than this cannot identify a story (title-only or boilerplate-only items)."""


_ESCAPED_MARKUP = re.compile(
    r"</?(?:p|br|div|span|a|em|strong|b|i|img|h[1-6]|ul|ol|li|blockquote|figure|figcaption)"
    r"\b[^<>]{0,300}>",
    re.IGNORECASE,
)


def html_to_blocks(fragment: str, unescaped: bool = False) -> list[str]:
    """Readable text blocks of an HTML fragment, whitespace collapsed, empty ones dropped.

    A fragment escaped twice (a common publisher bug: the markup arrives as text, with
    ``&rsquo;`` and ``<p>`` in it) is read as the HTML it stands for."""
    if not fragment:
        return []
    text = _DROP_ELEMENTS.sub(" ", fragment)
    text = _BLOCK_TAGS.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    if not unescaped and "<" not in fragment and _escaped_twice(text):
        return html_to_blocks(text, unescaped=True)
    # One search for both first: most entries have neither, and each scan of a long
    # text costs as much as the substitution.
    if _INVISIBLE_OR_CONTROL.search(text):
        text = _CONTROL.sub(" ", _INVISIBLE.sub("", text))
    # Most lines are the empty ones block tags leave between blocks: skipped unsplit.
    return [" ".join(line.split()) for line in text.split("\n") if line and not line.isspace()]


def _escaped_twice(text: str) -> bool:
    """Whether text taken out of HTML without a tag of its own holds markup: two tags at
    least, or one at its start (a sentence that mentions one tag stays text)."""
    first = _ESCAPED_MARKUP.search(text)
    if first is None:
        return False
    return (
        text[: first.start()].isspace()
        or not text[: first.start()]
        or (_ESCAPED_MARKUP.search(text, first.end()) is not None)
    )


_FOLD_PAIRS = tuple((chr(code), str(plain)) for code, plain in _FOLD.items())


def fold(text: str) -> str:
    """Normalise for comparison: NFKC, plain quotes/dashes, collapsed spaces, case-folded."""
    return " ".join(fold_characters(text).split())


def fold_characters(text: str) -> str:
    """:func:`fold` without the whitespace collapse: every step maps characters one by one
    and none makes or removes whitespace or line breaks, so a whole multi-line text can be
    folded at once and split into lines after (one pass instead of one per paragraph)."""
    # The checks first: most text is already NFKC and has no curly quotes, and the
    # quick checks cost a tenth of the conversions.
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    for fancy, plain in _FOLD_PAIRS:  # str.replace per character beats str.translate here
        if fancy in text:
            text = text.replace(fancy, plain)
    return text.casefold()


# Every character ``str.split()`` splits on, but the space and the line break.
_ASCII_ODD_SPACES = ("\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")
_ODD_SPACES = _ASCII_ODD_SPACES + (
    "\x85",
    "\xa0",
    "\u1680",
    *map(chr, range(0x2000, 0x200B)),
    "\u2028",
    "\u2029",
    "\u202f",
    "\u205f",
    "\u3000",
)


def single_spaced_lines(text: str) -> bool:
    """Whether each line of ``text`` is already ``" ".join(line.split())``: single spaces
    between words, none at either end, no other whitespace.  Most article text is, and a
    few substring searches over the whole text cost a tenth of splitting and joining every
    line."""
    if "  " in text or " \n" in text or "\n " in text or text[:1] == " " or text[-1:] == " ":
        return False
    return not any(
        space in text for space in (_ASCII_ODD_SPACES if text.isascii() else _ODD_SPACES)
    )


def has_words(folded: str) -> bool:
    return _WORD.search(folded) is not None


# Tokenising a line of ASCII text: every ASCII byte outside ``\w`` (letters, digits,
# underscore) becomes a space and ``split`` gives exactly the tokens of ``_WORD.findall``
# (no regex: a third less time).  A line with other characters goes to the regex.
_ASCII_NON_WORD = bytes(
    c if c >= 128 or chr(c).isalnum() or c == ord("_") else ord(" ") for c in range(256)
)


def _ascii_words(line: str) -> list[str]:
    return line.encode("ascii").translate(_ASCII_NON_WORD).decode("ascii").split()


def words(folded: str) -> list[str]:
    """Word tokens by Unicode word boundaries; unspaced scripts give one token per character."""
    if folded.isascii():
        return _ascii_words(folded)
    if not _UNSPACED.search(folded):
        tokens: list[str] = []
        for line in folded.split("\n"):  # a stray "©" sends one line to the regex, not all
            tokens += _ascii_words(line) if line.isascii() else _WORD.findall(line)
        return tokens
    out: list[str] = []
    for token in _WORD.findall(folded):
        if _UNSPACED.search(token):
            out.extend(_split_unspaced(token))
        else:
            out.append(token)
    return out


def _split_unspaced(token: str) -> list[str]:
    pieces: list[str] = []
    run = ""
    for char in token:
        if _UNSPACED.match(char):
            if run:
                pieces.append(run)
                run = ""
            pieces.append(char)
        else:
            run += char
    if run:
        pieces.append(run)
    return pieces


_TAIL = 80
"""Truncation markers are short: only the end of a block is searched for one."""


_MARKER_ENDINGS = ("]", ")", "\u2026", "more", "reading", "story", "article", "post")
"""How a block carrying a truncation marker ends, once trailing punctuation is off."""
_TRAILING_PUNCTUATION = " \t.!\u00bb>"


def strip_truncation(folded_block: str) -> str:
    """Drop a trailing "… Read more" / "[…]" marker from a (folded) block."""
    head, tail = folded_block[:-_TAIL], folded_block[-_TAIL:]
    # Most blocks end like a sentence, which no marker does: a string test settles them
    # without the regular expression (which tries each position of the tail).
    core = tail.rstrip(_TRAILING_PUNCTUATION)
    if not core.endswith(_MARKER_ENDINGS) and "..." not in tail[len(core) :]:
        return folded_block.rstrip()
    stripped = _TRUNCATION.sub("", tail)
    return (head + stripped).rstrip() if stripped != tail else folded_block.rstrip()


def is_truncated(blocks: list[str]) -> bool:
    """Whether the text ends the way summary-only entries end ("…", "[…]", "Read more")."""
    if not blocks:
        return False
    tail = fold(blocks[-1])
    if _TRUNCATION.search(tail[-_TAIL:]):
        return True
    return len(blocks) > 1 and any(p.match(tail) for p in _GENERIC_BLOCKS[1:4])


def readable_line(text: str) -> str:
    """One line of text as :func:`html_to_blocks` gives it (invisible characters out, control
    characters as spaces, whitespace collapsed): for code that cuts the blocks itself."""
    if _INVISIBLE_OR_CONTROL.search(text):
        text = _CONTROL.sub(" ", _INVISIBLE.sub("", text))
    return " ".join(text.split())


def truncation_marker(text: str) -> tuple[int, bool] | None:
    """Where the trailing "… Read more" / "[…]" / "Continue reading" marker of a (raw, not
    folded) block starts, and whether it holds an ellipsis; None when it has none."""
    tail_start = max(0, len(text) - _TAIL)
    match = _TRUNCATION_RAW.search(text, tail_start)
    if match is None or match.start() == 0:
        return None  # a block that is only a marker is a generic block, not a marker
    return match.start(), "..." in match.group(0) or "\u2026" in match.group(0)


_TRUNCATION_RAW = re.compile(_TRUNCATION.pattern, re.IGNORECASE)

_LINK_LINE_LABEL = re.compile(
    r"^(?:read more|read also|also read|more|related|related stories|related articles|"
    r"see also|recommended|recommended reading|must read|don't miss|do not miss|watch|"
    r"watch now|listen|trending|more from [^:]{1,40}|latest)\s*[:\-|>»]\s*",
    re.IGNORECASE,
)
"""The lead-in of a "READ MORE: <another story>" line inside an article.  On its own such a
lead-in proves nothing ("Watch: the video shows…" can be story text); the published-content
cleaner (:mod:`aggregator.clean.published`) drops a line only when the rest of it is a link."""


def link_line_label(text: str) -> int | None:
    """The length of a "READ MORE:"-style lead-in at the start of a (raw) block, or None."""
    match = _LINK_LINE_LABEL.match(text.replace("\u2019", "'"))
    return match.end() if match else None


_ANY_GENERIC_BLOCK = re.compile("|".join(f"(?:{p.pattern})" for p in _GENERIC_BLOCKS))
"""The patterns as one alternation: one match call per block instead of eight."""


def generic_boilerplate(folded_block: str) -> bool:
    """Whether a folded block is boilerplate that feeds of every network carry."""
    return _ANY_GENERIC_BLOCK.match(folded_block) is not None


def content_key(tokens: list[str]) -> str | None:
    """Hash identifying an exact text (after boilerplate removal); None for too little text."""
    if len(tokens) < MIN_IDENTITY_TOKENS:
        return None
    return hashlib.sha1(" ".join(tokens).encode("utf-8")).hexdigest()


def canonical_url(url: str | None) -> str | None:
    """One spelling per article: lower-case scheme/host, no default port, no fragment,
    no tracking parameters, remaining parameters sorted."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip() or None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return url.strip() or None
    host = parts.hostname.lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and not (
        (parts.scheme.lower() == "http" and port == 80)
        or (parts.scheme.lower() == "https" and port == 443)
    ):
        host = f"{host}:{port}"
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    query.sort()
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", urlencode(query), ""))


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


def revision_hash(*parts: str | None) -> str:
    """Hash of what the source sent, to notice edits."""
    digest = hashlib.sha1()
    for part in parts:
        digest.update((part or "").encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


SUMMARY_WORDS = 100
"""A description-only entry shorter than this many words is taken as a summary."""


def clean_entry(entry: ParsedEntry) -> CleanItem:
    """A parsed entry as an item: readable text, canonical link, identity, summary flag."""
    blocks = html_to_blocks(entry.content_html)
    text = "\n".join(blocks)
    title = " ".join(entry.title.split()) or None if entry.title else None
    link = entry.link.strip() if entry.link else None
    word_count = len(text.split())  # a count against a threshold: whitespace words suffice
    is_summary = is_truncated(blocks) or (not entry.has_full_content and word_count < SUMMARY_WORDS)
    return CleanItem(
        entry_id=entry_identity(entry.source_id, link, title, text),
        guid=entry.source_id,
        link=link,
        canonical_link=canonical_url(link),
        title=title,
        author=entry.author,
        published=entry.published,
        updated=entry.updated,
        content_html=entry.content_html,
        text=text,
        is_summary=is_summary,
        summary_html=entry.summary_html,
        authors=entry.authors,
        revision=revision_hash(
            title,
            link,
            entry.content_html,
            entry.author,
            entry.published.isoformat() if entry.published else None,
            *_summary_and_authors_parts(entry),
        ),
    )


def _summary_and_authors_parts(entry: ParsedEntry) -> tuple[str, ...]:
    """The summary and the authors' details, as revision parts only when the entry has
    them: the revision of an entry without them stays what it was before they were kept,
    and one with them changes once, so that its next poll stores them."""
    detailed = entry.authors != ((Person(name=entry.author),) if entry.author else ())
    if not entry.summary_html and not detailed:
        return ()
    people = "\x1f".join(
        f"{p.name or ''}\x1e{p.email or ''}\x1e{p.url or ''}" for p in entry.authors
    )
    return (entry.summary_html, people)


def entry_identity(source_id: str | None, link: str | None, title: str | None, text: str) -> str:
    """GUID, else link, else a hash of title and content: stable across polls."""
    if source_id:
        return source_id
    if link:
        return link
    return "sha1:" + revision_hash(title, text)
