"""One exception tree for the whole package.

Each error names the resource it concerns; callers chain the cause
(``raise FetchError(url, "...") from exc``) so nothing is lost.
"""

from __future__ import annotations


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
    """The database refused or failed an operation."""
