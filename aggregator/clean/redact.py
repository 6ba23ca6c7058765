"""What a feed's address may show in public: no credentials.  Pure.

A feed URL may carry a password (``https://user:pass@host/feed``) or a key in its query
(``?apikey=…``, ``&token=…``, ``&sig=…``).  The daemon needs them to fetch the feed, so
they are stored and used as written; whatever is published shows the address through
:func:`redact_url`, the one rule, which drops the user-info and every secret-looking
query parameter (the parameter, not only its value: an empty ``apikey=`` still says a
key exists).

The rule lives here, in a stage both sides may import, because it has two users: the web
face redacts the feed addresses it shows (:mod:`aggregator.publish.redact`), and the
parser resolves relative links, ids and the URLs inside content against the *redacted*
document URL (:func:`aggregator.parse.document.parse_feed`) — a link resolved against
``http://user:pass@host/feed`` would carry the password into every output.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["is_secret_param", "redact_url"]

_SECRET_NAME = re.compile(
    r"(?:^|[_.-])(?:key|sig|auth)$"  # key, api_key, x-auth, s.sig
    r"|password|passwd|pwd|secret|token|apikey|api[_-]?key|access[_-]?key|signature"
    r"|^(?:authorization|credentials?|session|sessionid|sid|jwt|code)$",
    re.IGNORECASE,
)


def is_secret_param(name: str) -> bool:
    """Whether a query parameter's name looks like it carries a credential."""
    return bool(_SECRET_NAME.search(name.strip()))


def redact_url(url: str | None) -> str | None:
    """``url`` without user-info and without secret-looking query parameters (the other
    parameters keep their order and spelling).  A URL without either comes back as is."""
    if not url or ("@" not in url and "?" not in url):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None  # not a URL we can take apart: nothing of it is shown
    netloc = parts.netloc.rpartition("@")[2] if "@" in parts.netloc else parts.netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not is_secret_param(k)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
