"""The real pipeline against a real hostile HTTP server on 127.0.0.1.

Each broken or hostile answer must end recorded on its own feed (``last_error``,
``error_count``, ``next_check``) — and harm nothing else: the well-behaved feed polled
in the same batch still gets its items.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from aggregator.config import settings_from_mapping
from aggregator.fetch import pool
from aggregator.fetch.http import DECODE_STEP, _Decoder
from aggregator.fetch.pool import fetch_concurrently
from aggregator.ingest.pipeline import Pipeline
from aggregator.storage import Storage
from aggregator.types import FeedToPoll, FeedView, PollOutcome
from tests.helpers import check_consistency
from tests.hostile_server import (
    HANG_SECONDS,
    HOSTILE_ROUTES,
    HostileServer,
    Meter,
    feed_items,
)

TIMEOUT = 1.5
MAX_BYTES = 1024 * 1024


def _pipeline(database_url: str, urls: list[str], **polling: object) -> Pipeline:
    polling_config: dict[str, object] = {
        "timeout": TIMEOUT,
        "max_bytes": MAX_BYTES,
        "interval": 60,
        **polling,
    }
    settings = settings_from_mapping(
        {"database": database_url, "feeds": [{"url": u} for u in urls], "polling": polling_config},
        None,
    )
    pipeline = Pipeline(Storage(database_url), settings)
    pipeline.start()
    return pipeline


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        running.set_feed("good", feed_items("good", 3))
        yield running


@dataclass(frozen=True)
class Batch:
    outcomes: dict[str, PollOutcome]
    feeds: dict[str, FeedView]
    items_by_feed: dict[str, int]
    polled_at: datetime
    seconds: float


@pytest.fixture(scope="module")
def batch(server: HostileServer, tmp_path_factory: pytest.TempPathFactory) -> Batch:
    """One poll of every hostile route plus a good feed, in one batch, into one database."""
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'agg.db'}"
    good = server.url("/feed/good")
    extra = {
        "refused": "http://127.0.0.1:9/feed.xml",
        "dns": "http://no-such-host.invalid/feed.xml",
        "tls": server.url("/feed/good").replace("http://", "https://"),
    }
    urls = [good, *(server.url(r) for r in HOSTILE_ROUTES), *extra.values()]
    pipeline = _pipeline(url, urls)
    started, polled_at = time.monotonic(), datetime.now(UTC)
    outcomes = {o.feed_url: o for o in pipeline.poll()}
    seconds = time.monotonic() - started
    feeds = {f.url: f for f in pipeline.storage.list_feeds()}
    counts: dict[str, int] = {}
    for item in pipeline.storage.list_items():
        counts[item.feed_url] = counts.get(item.feed_url, 0) + 1
    check_consistency(pipeline)
    return Batch(outcomes, feeds, counts, polled_at, seconds)


# Expected per route: "ok" routes may store what survives with a note; the others fail,
# and the message must say why in words a user can act on.
EXPECTED = {
    "/status/404": "HTTP 404",
    "/status/500": "HTTP 500",
    "/status/503?retry_after=120": "HTTP 503",
    "/gone": "410",
    "/loop": "too many redirects",
    "/no-location": "HTTP 302",
    "/big": "max_bytes",
    "/big-declared": "max_bytes",
    "/gzip-bomb": "max_bytes",
    "/deflate-bomb": "max_bytes",
    "/bad-gzip": "cannot decompress",
    "/drip": "deadline|timed out",
    "/hang": "timed out|deadline",
    "/truncated": "RemoteProtocolError|closed",
    "/html": "HTML",
    "/random": "not a usable feed|not a feed",
    "/empty": "empty document",
    "/whitespace": "empty document",
}
SURVIVABLE = ("/lying-encoding", "/utf16-claims-utf8", "/billion-laughs", "/xxe")


@pytest.mark.parametrize("route", sorted(EXPECTED))
def test_each_hostile_answer_is_an_error_on_its_feed(
    route: str, server: HostileServer, batch: Batch
) -> None:
    import re

    feed_url = server.url(route)
    outcome, feed = batch.outcomes[feed_url], batch.feeds[feed_url]
    assert outcome.status == "error", outcome
    assert re.search(EXPECTED[route], outcome.error or ""), outcome.error
    assert feed.last_error == outcome.error
    assert feed.error_count == 1
    assert batch.items_by_feed.get(feed_url, 0) == 0
    if route == "/gone":
        assert feed.disabled and feed.next_check is None
    else:
        assert feed.next_check is not None and feed.next_check > batch.polled_at


@pytest.mark.parametrize("route", SURVIVABLE)
def test_survivable_documents_are_stored_or_reported(
    route: str, server: HostileServer, batch: Batch
) -> None:
    feed_url = server.url(route)
    outcome, feed = batch.outcomes[feed_url], batch.feeds[feed_url]
    assert outcome.status in ("ok", "error")
    assert feed.next_check is not None and feed.next_check > batch.polled_at
    if outcome.status == "error":
        assert feed.error_count == 1 and feed.last_error
    else:
        assert feed.error_count == 0


@pytest.mark.parametrize(
    "name,fragment",
    [("refused", "cannot connect"), ("dns", "cannot connect"), ("tls", "TLS error")],
)
def test_network_failures_are_errors_on_their_feed(
    name: str, fragment: str, server: HostileServer, batch: Batch
) -> None:
    import re

    url = {
        "refused": "http://127.0.0.1:9/feed.xml",
        "dns": "http://no-such-host.invalid/feed.xml",
        "tls": server.url("/feed/good").replace("http://", "https://"),
    }[name]
    outcome, feed = batch.outcomes[url], batch.feeds[url]
    assert outcome.status == "error" and re.search(fragment, outcome.error or ""), outcome.error
    assert feed.error_count == 1 and feed.next_check is not None


def test_the_good_feed_is_unharmed_and_the_batch_is_bounded(
    server: HostileServer, batch: Batch
) -> None:
    good = server.url("/feed/good")
    assert batch.outcomes[good].status == "ok" and batch.outcomes[good].new == 3
    assert batch.feeds[good].error_count == 0 and batch.feeds[good].last_error is None
    # The drip and the hang end at the deadline, not when the server gives up: the batch
    # is over before the hang would have answered.
    assert batch.seconds < HANG_SECONDS


def test_external_entities_are_never_resolved(
    server: HostileServer, batch: Batch, tmp_path: Path
) -> None:
    assert server.requests("/xxe") and not server.requests("/xxe-target")
    url = f"sqlite:///{tmp_path / 'x.db'}"
    pipeline = _pipeline(url, [server.url("/xxe")])
    pipeline.poll()
    stored = pipeline.storage.list_items(with_content=True)
    text = " ".join(f"{i.title} {i.text}" for i in stored)
    assert "root:" not in text and "SECRET-FROM-XXE-TARGET" not in text


def test_billion_laughs_is_not_expanded(server: HostileServer, tmp_path: Path) -> None:
    pipeline = _pipeline(f"sqlite:///{tmp_path / 'b.db'}", [server.url("/billion-laughs")])
    (outcome,) = pipeline.poll()
    assert outcome.status in ("ok", "error"), outcome
    (feed,) = pipeline.storage.list_feeds()
    assert feed.error_count == (outcome.status == "error")
    # Expanded, &lol9; is 10^9 "lol"s: 3 GB in the title and again in the text.
    assert all(
        len(i.title or "") < 1000 and len(i.text) < 10_000
        for i in pipeline.storage.list_items(with_content=True)
    )


def test_lying_encoding_is_decoded_as_what_it_is(server: HostileServer, tmp_path: Path) -> None:
    pipeline = _pipeline(f"sqlite:///{tmp_path / 'e.db'}", [server.url("/lying-encoding")])
    (outcome,) = pipeline.poll()
    assert outcome.status == "ok", outcome.error
    (item,) = pipeline.storage.list_items()
    assert item.title == "Café crème à la façon de René"
    (feed,) = pipeline.storage.list_feeds()
    assert feed.error_count == 0 and feed.last_error  # the lie is noted on the feed


def test_thousands_of_entries_are_stored_once(tmp_path: Path) -> None:
    with HostileServer(thousands=2000) as server:
        pipeline = _pipeline(
            f"sqlite:///{tmp_path / 't.db'}", [server.url("/thousands")], max_bytes=8 * MAX_BYTES
        )
        assert [(o.status, o.new) for o in pipeline.poll()] == [("ok", 2000)]
        assert [(o.status, o.new, o.updated) for o in pipeline.poll()] == [("ok", 0, 0)]
    assert len(pipeline.storage.list_items()) == 2000
    check_consistency(pipeline)


# -- redirects and gone -------------------------------------------------------------------


@pytest.mark.parametrize("route", ["moved", "moved308"])
def test_permanent_redirect_updates_the_stored_url(
    route: str, server: HostileServer, tmp_path: Path
) -> None:
    server.set_feed(f"target-{route}", feed_items(f"target-{route}", 2))
    old = server.url(f"/{route}/target-{route}")
    pipeline = _pipeline(f"sqlite:///{tmp_path / 'm.db'}", [old])
    assert [o.status for o in pipeline.poll()] == ["ok"]
    (feed,) = pipeline.storage.list_feeds()
    assert feed.url == old and feed.fetch_url == server.url(f"/feed/target-{route}")
    assert "moved permanently" in (feed.last_error or "") and feed.error_count == 0
    before = len(server.requests(f"/{route}/target-{route}"))
    assert [o.status for o in pipeline.poll()] == ["not-modified"]
    assert len(server.requests(f"/{route}/target-{route}")) == before  # went straight there


def test_gone_disables_the_feed_and_it_is_not_polled_again(
    server: HostileServer, tmp_path: Path
) -> None:
    pipeline = _pipeline(f"sqlite:///{tmp_path / 'g.db'}", [server.url("/gone")])
    before = len(server.requests("/gone"))
    pipeline.poll()
    (feed,) = pipeline.storage.list_feeds()
    assert feed.disabled and "410" in (feed.last_error or "")
    assert pipeline.storage.feeds_to_poll() == []
    assert pipeline.poll() == []
    # The server records a request once its handler returns, which can be a moment after
    # the client has read the answer: wait for that record before counting.
    deadline = time.monotonic() + 5
    while len(server.requests("/gone")) <= before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(server.requests("/gone")) == before + 1


# -- politeness ---------------------------------------------------------------------------


def test_retry_after_as_an_http_date(server: HostileServer, tmp_path: Path) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(hours=3), usegmt=True)
    route = "/status/429?retry_after=" + when.replace(" ", "%20").replace(",", "%2C")
    pipeline = _pipeline(f"sqlite:///{tmp_path / 'r.db'}", [server.url(route)])
    pipeline.poll()
    (feed,) = pipeline.storage.list_feeds()
    assert feed.next_check is not None
    assert feed.next_check >= datetime.now(UTC) + timedelta(hours=2, minutes=58)


def test_ttl_holds_across_304_answers(server: HostileServer, tmp_path: Path) -> None:
    server.set_feed("with-ttl", feed_items("with-ttl", 1), ttl=120)
    pipeline = _pipeline(f"sqlite:///{tmp_path / 'ttl.db'}", [server.url("/feed/with-ttl")])
    for expected in ("ok", "not-modified"):
        assert [o.status for o in pipeline.poll()] == [expected]
        (feed,) = pipeline.storage.list_feeds()
        assert feed.next_check is not None
        assert feed.next_check >= datetime.now(UTC) + timedelta(minutes=119)


def test_cache_control_max_age_delays_the_next_check(server: HostileServer, tmp_path: Path) -> None:
    pipeline = _pipeline(f"sqlite:///{tmp_path / 'ma.db'}", [server.url("/max-age")])
    pipeline.poll()
    (feed,) = pipeline.storage.list_feeds()
    assert feed.next_check is not None
    assert feed.next_check >= datetime.now(UTC) + timedelta(seconds=7100)


def _max_concurrency(
    tmp_path: Path, feeds_per_host: list[int], concurrency: int, per_host: int
) -> Meter:
    """Poll feeds that each take 0.3 s, spread over loopback hosts; measure the overlap."""
    meter = Meter()
    servers = [
        HostileServer(host=f"127.0.0.{i + 1}", meter=meter) for i in range(len(feeds_per_host))
    ]
    for running in servers:
        running.__enter__()
        running.set_feed("slow", feed_items("slow", 1))
    try:
        urls = [
            s.url(f"/feed/slow?delay=0.3&n={n}")
            for s, count in zip(servers, feeds_per_host, strict=True)
            for n in range(count)
        ]
        pipeline = _pipeline(
            f"sqlite:///{tmp_path / f'c{concurrency}.db'}", urls, concurrency=concurrency
        )
        pipeline.limits = replace(pipeline.limits, per_host=per_host)
        assert {o.status for o in pipeline.poll()} == {"ok"}
    finally:
        for running in servers:
            running.__exit__()
    return meter


def test_per_host_limit_holds_when_one_host_has_most_feeds(tmp_path: Path) -> None:
    meter = _max_concurrency(tmp_path, [8, 1], concurrency=4, per_host=2)
    assert meter.max_active["127.0.0.1"] == 2  # reached, never passed
    assert meter.max_total == 3  # the idle workers did not pile onto the busy host


def test_global_limit_holds_across_hosts(tmp_path: Path) -> None:
    meter = _max_concurrency(tmp_path, [6, 6, 6], concurrency=4, per_host=2)
    assert max(meter.max_active.values()) <= 2
    assert meter.max_total == 4


def test_feeds_fetched_while_a_slow_one_runs_get_connections_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One fetch slot, a feed that drips, and four healthy feeds on another host: the
    drip gives its slot to the next feed once slow, and the client has connections for
    both (a client sized to the slots alone made every other fetch wait for a
    connection until its own deadline)."""
    monkeypatch.setattr(pool, "SLOW_AFTER", 0.3)
    with HostileServer() as healthy, HostileServer(host="127.0.0.2") as slow:
        healthy.set_feed("f", feed_items("f", 1))
        urls = [slow.url("/drip")] + [healthy.url(f"/feed/f?n={n}") for n in range(4)]
        pipeline = _pipeline(f"sqlite:///{tmp_path / 'slow.db'}", urls, concurrency=1)
        outcomes = {o.feed_url: o for o in pipeline.poll()}
        pipeline.close()
    assert outcomes[urls[0]].status == "error"  # the drip ran out its deadline
    assert [outcomes[u].status for u in urls[1:]] == ["ok"] * 4
    assert all(outcomes[u].seconds < TIMEOUT for u in urls[1:])


def test_user_agent_names_the_project_and_version(server: HostileServer, batch: Batch) -> None:
    from aggregator import __version__

    agents = {r.headers.get("User-Agent") for r in server.requests("/feed/good")}
    assert agents and all(a and a.startswith(f"aggregator/{__version__} ") for a in agents)


# -- the fetch runner and the decoder, alone -------------------------------------------------


def _feeds(n: int) -> list[FeedToPoll]:
    return [
        FeedToPoll(
            id=i, url=f"http://h{i % 3}.example/{i}", fetch_url=f"http://h{i % 3}.example/{i}"
        )
        for i in range(n)
    ]


def test_a_stuck_fetch_is_abandoned_at_the_deadline_and_the_batch_goes_on() -> None:
    release, returned = threading.Event(), threading.Event()

    def work(feed: FeedToPoll) -> str:
        if feed.id == 0:
            release.wait(60)  # stuck, like a DNS lookup no timeout covers
            returned.set()
        return f"done {feed.id}"

    results: list[str] = []
    try:
        for result in fetch_concurrently(
            _feeds(6),
            work,
            lambda feed, reason, _s: f"failed {feed.id}: {reason}",
            concurrency=2,
            per_host=2,
            deadline=0.5,
        ):
            if result is not None:
                results.append(result)
                # Reported while the call is still stuck: abandoned, not waited for.
                assert not returned.is_set()
    finally:
        release.set()
    assert sorted(results)[-1].startswith("failed 0: no answer within the 0.5s deadline")
    assert sorted(r for r in results if r.startswith("done")) == [f"done {i}" for i in range(1, 6)]


def test_a_slow_writer_holds_at_most_concurrency_results_in_memory() -> None:
    """Each fetched result holds a body: running fetches plus results the writer has not
    taken yet stay within ``concurrency``, however far the writer falls behind."""
    lock, held, most = threading.Lock(), [0], [0]

    def work(feed: FeedToPoll) -> int:
        with lock:
            held[0] += 1
            most[0] = max(most[0], held[0])
        return feed.id

    got = []
    for value in fetch_concurrently(
        _feeds(40), work, lambda f, r, s: -1, concurrency=4, per_host=4, deadline=5
    ):
        if value is None:
            continue
        with lock:
            held[0] -= 1  # taken: from now on the writer holds it (one at a time)
        time.sleep(0.01)  # the writer is the slow side
        got.append(value)
    assert sorted(got) == list(range(40))
    assert most[0] == 4


def test_a_stuck_fetch_gives_back_its_slot_when_abandoned() -> None:
    """With one slot, the batch can only go on if abandoning the stuck fetch frees it."""
    release = threading.Event()

    def work(feed: FeedToPoll) -> str:
        if feed.id == 0:
            release.wait(10)
        return f"done {feed.id}"

    give_up = threading.Event()  # a lost slot would stall the batch: end it, and fail
    timer = threading.Timer(5, give_up.set)
    timer.start()
    try:
        results = [
            r
            for r in fetch_concurrently(
                _feeds(3),
                work,
                lambda feed, reason, _s: f"failed {feed.id}",
                concurrency=1,
                per_host=1,
                deadline=0.5,
                cancel=give_up,
            )
            if r is not None
        ]
    finally:
        timer.cancel()
        release.set()
    assert not give_up.is_set()
    assert sorted(results) == ["done 1", "done 2", "failed 0"]


def test_cancel_ends_the_iteration_without_waiting_for_fetches() -> None:
    cancel, release = threading.Event(), threading.Event()
    lock, started, finished = threading.Lock(), [], []

    def work(feed: FeedToPoll) -> int:
        with lock:
            started.append(feed.id)
        if feed.id != 0:
            release.wait(60)  # in flight until the test lets go, after the iteration
        with lock:
            finished.append(feed.id)
        return feed.id

    got = []
    try:
        for value in fetch_concurrently(
            _feeds(50),
            work,
            lambda f, r, s: -1,
            concurrency=2,
            per_host=2,
            deadline=60,
            cancel=cancel,
        ):
            if value is None:  # an idle tick
                continue
            got.append(value)
            cancel.set()
        with lock:  # the iteration ended with a fetch still in flight, and started no more
            assert finished == [0] and len(started) <= 3
    finally:
        release.set()
    assert got == [0]


@pytest.mark.parametrize(
    "coding,compress",
    [
        ("gzip", lambda b: __import__("gzip").compress(b)),
        ("deflate", lambda b: zlib.compress(b)),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # a raw stream, as many servers send
    ],
)
def test_decoder_inflates_a_bomb_in_bounded_steps(coding: str, compress: object) -> None:
    payload = compress(b"\0" * (20 * DECODE_STEP))  # type: ignore[operator]
    feed = FeedToPoll(id=1, url="http://x.example/", fetch_url="http://x.example/")
    decoder = _Decoder.chain(feed, coding)
    out = list(decoder.decode(payload[:1]))  # one byte: nothing can be sniffed yet
    out += list(decoder.decode(payload[1:]))
    assert all(len(chunk) <= DECODE_STEP for chunk in out)
    assert sum(map(len, out)) == 20 * DECODE_STEP


def test_unknown_content_encoding_is_refused() -> None:
    from aggregator.errors import FetchError

    feed = FeedToPoll(id=1, url="http://x.example/", fetch_url="http://x.example/")
    with pytest.raises(FetchError, match="unsupported Content-Encoding 'br'"):
        _Decoder.chain(feed, "br")


def test_stop_abandons_fetches_in_flight(server: HostileServer, tmp_path: Path) -> None:
    pipeline = _pipeline(f"sqlite:///{tmp_path / 's.db'}", [server.url("/hang?x=stop")], timeout=30)
    threading.Timer(0.5, pipeline.stopping.set).start()
    started = time.monotonic()
    # No outcome: the fetch was abandoned, not ended by its 30 s timeout (an error outcome).
    assert pipeline.poll() == []
    assert time.monotonic() - started < 30
    (feed,) = pipeline.storage.list_feeds()
    assert feed.last_checked is None and feed.error_count == 0  # nothing recorded for it
