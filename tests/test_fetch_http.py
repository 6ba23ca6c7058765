"""Fetching from a real HTTP server on 127.0.0.1: conditional GET, limits, errors."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from aggregator.config import settings_from_mapping
from aggregator.errors import FetchError
from aggregator.fetch.http import FetchLimits, fetch
from aggregator.ingest.pipeline import Pipeline
from aggregator.storage import Storage
from aggregator.types import FeedToPoll
from tests.feeds import rss

ETAG = '"v1"'
LAST_MODIFIED = "Fri, 20 Nov 2026 10:00:00 GMT"
BODY = rss(
    "Conditional",
    [
        {
            "guid": "a",
            "title": "A",
            "link": "https://example.com/a",
            "html": "<p>One story about a harbour and its many ferries.</p>",
        }
    ],
)


def _conditional(request: Request) -> Response:
    if (
        request.headers.get("If-None-Match") == ETAG
        or request.headers.get("If-Modified-Since") == LAST_MODIFIED
    ):
        return Response(status=304, headers={"ETag": ETAG})
    return Response(
        BODY,
        headers={
            "ETag": ETAG,
            "Last-Modified": LAST_MODIFIED,
            "Content-Type": "application/rss+xml",
        },
    )


def _pipeline(url: str, feed_urls: list[str], **polling: object) -> Pipeline:
    polling_config: dict[str, object] = {"timeout": 5, **polling}
    settings = settings_from_mapping(
        {"database": url, "feeds": [{"url": u} for u in feed_urls], "polling": polling_config}, None
    )
    pipeline = Pipeline(Storage(url), settings)
    pipeline.start()
    return pipeline


def test_conditional_get_sends_validators_and_handles_304(
    httpserver: HTTPServer, sqlite_url: str
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_handler(_conditional)
    pipeline = _pipeline(sqlite_url, [httpserver.url_for("/feed.xml")])
    (first,) = pipeline.poll()
    assert (first.status, first.new) == ("ok", 1)
    (feed,) = pipeline.storage.list_feeds()
    assert (feed.etag, feed.last_modified) == (ETAG, LAST_MODIFIED)
    (second,) = pipeline.poll()
    assert (second.status, second.new) == ("not-modified", 0)
    requests = [r for r, _ in httpserver.log]
    assert requests[1].headers.get("If-None-Match") == ETAG
    assert requests[1].headers.get("If-Modified-Since") == LAST_MODIFIED
    assert "aggregator/" in (requests[0].headers.get("User-Agent") or "")
    assert len(pipeline.storage.list_items()) == 1


def _feed(url: str) -> FeedToPoll:
    return FeedToPoll(id=1, url=url, fetch_url=url)


def test_body_larger_than_max_bytes_is_cut_off(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 200_000)
    with pytest.raises(FetchError, match="max_bytes"):
        fetch(_feed(httpserver.url_for("/big")), FetchLimits(max_bytes=100_000, timeout=5))


def test_gzip_bomb_is_capped_on_decoded_size(httpserver: HTTPServer) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000)
    assert len(bomb) < 100_000
    httpserver.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="max_bytes"):
        fetch(_feed(httpserver.url_for("/bomb")), FetchLimits(max_bytes=1_000_000, timeout=5))


def test_redirect_loop_is_reported(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/loop").respond_with_response(
        Response(status=302, headers={"Location": "/loop"})
    )
    with pytest.raises(FetchError, match="too many redirects"):
        fetch(_feed(httpserver.url_for("/loop")), FetchLimits(max_redirects=3, timeout=5))


def test_permanent_redirect_reports_the_new_url(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_response(
        Response(status=301, headers={"Location": "/new"})
    )
    httpserver.expect_request("/new").respond_with_data(BODY)
    result = fetch(_feed(httpserver.url_for("/old")), FetchLimits(timeout=5))
    assert result.final_url == httpserver.url_for("/new")


def test_slow_drip_hits_the_total_deadline(httpserver: HTTPServer) -> None:
    """Each byte comes well within the read timeout; only the whole fetch's deadline ends it."""
    sent = []

    def drip(_: Request) -> Response:
        def body() -> Iterator[bytes]:
            for _ in range(100):  # 20 s of body
                sent.append(1)
                yield b"<"
                time.sleep(0.2)

        return Response(body(), headers={"Content-Type": "application/rss+xml"})

    httpserver.expect_request("/drip").respond_with_handler(drip)
    with pytest.raises(FetchError, match="deadline|timed out"):
        fetch(_feed(httpserver.url_for("/drip")), FetchLimits(timeout=1.0))
    assert 0 < len(sent) < 100  # it gave up in the middle of the body


@pytest.mark.parametrize("status", [404, 500, 410])
def test_http_errors_are_recorded_on_the_feed(
    httpserver: HTTPServer, sqlite_url: str, status: int
) -> None:
    httpserver.expect_request("/bad").respond_with_data("nope", status=status)
    httpserver.expect_request("/good").respond_with_data(BODY)
    pipeline = _pipeline(sqlite_url, [httpserver.url_for("/bad"), httpserver.url_for("/good")])
    outcomes = {o.feed_url.rsplit("/", 1)[1]: o for o in pipeline.poll()}
    assert outcomes["bad"].status == "error" and str(status) in (outcomes["bad"].error or "")
    assert outcomes["good"].status == "ok" and outcomes["good"].new == 1
    feeds = {f.url.rsplit("/", 1)[1]: f for f in pipeline.storage.list_feeds()}
    assert feeds["bad"].error_count == 1 and str(status) in (feeds["bad"].last_error or "")
    assert feeds["good"].error_count == 0


def test_retry_after_sets_the_next_check(httpserver: HTTPServer, sqlite_url: str) -> None:
    httpserver.expect_request("/busy").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7200"}
    )
    pipeline = _pipeline(sqlite_url, [httpserver.url_for("/busy")], interval="1m")
    before = datetime.now(UTC)
    pipeline.poll()
    (feed,) = pipeline.storage.list_feeds()
    assert feed.next_check is not None
    assert feed.next_check >= before + timedelta(seconds=7100)


def test_connection_refused_is_an_error_value(sqlite_url: str) -> None:
    pipeline = _pipeline(sqlite_url, ["http://127.0.0.1:9/feed.xml"])
    (outcome,) = pipeline.poll()
    assert outcome.status == "error"
    assert pipeline.storage.list_feeds()[0].error_count == 1
