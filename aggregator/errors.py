"""One exception tree for the whole package.

Each error names the resource it concerns; callers chain the cause
(``raise FetchError(url, "...") from exc``) so nothing is lost.
"""

from __future__ import annotations

import re

# The password runs to the last "@" before the host: passwords may hold an "@" themselves.
_URL_USERINFO = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/?#@\s'\"]*):[^/?#\s'\"]*@"
)
_SECRET_PARAM = re.compile(
    r"(?P<key>[?&;](?:[A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|"
    r"access[_-]?key|auth|sig|signature))=)[^&#\s'\"]*",
    re.IGNORECASE,
)


def mask_secrets(text: str) -> str:
    """``text`` with every URL password (``scheme://user:PASSWORD@host``) and the value of
    every secret-looking query parameter (``?apikey=…``, ``&password=…``) replaced by
    ``***``: error messages reach terminals, logs and pages, secrets must not."""
    text = _URL_USERINFO.sub(r"\g<scheme>\g<user>:***@", text)
    return _SECRET_PARAM.sub(r"\g<key>***", text)


class AggregatorError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(AggregatorError, ValueError):
    """The configuration is wrong; ``key`` names the offending setting."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config: {key}: {message}")
        self.key = key
        self.message = message


class FeedError(AggregatorError):
    """Something went wrong with one feed; ``url`` says which."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url
        self.message = message


class FetchError(FeedError):
    """The feed document could not be retrieved.

    ``status`` and ``headers`` are set for HTTP errors, so Retry-After can be honoured.
    """

    def __init__(
        self,
        url: str,
        message: str,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(url, message)
        self.status = status
        self.headers = headers or {}


class ParseError(FeedError):
    """The feed document was retrieved but is not a usable feed."""


class StorageError(AggregatorError):
    """The database refused or failed an operation.  Its text never holds a database
    password: drivers and SQLAlchemy may quote the URL they were given."""

    def __init__(self, message: str) -> None:
        super().__init__(mask_secrets(message))


class DatabaseUnusable(StorageError):
    """The database cannot be used at all — an unknown driver, a schema made by a newer
    version: a startup error, reported in one line with exit status 2."""
