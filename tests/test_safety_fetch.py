"""The fetch policy against real loopback servers (issue 18, defects 1 and 2).

127.0.0.0/8 is all loopback on Linux, so a server on 127.0.0.2 plays the "public" feed
server (``fetch.allow_networks: [127.0.0.2/32]`` makes it count as public, as an operator
would list an intranet server) and one on 127.0.0.1 plays the internal service a hostile
feed tries to reach.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from aggregator.config import settings_from_mapping
from aggregator.errors import FetchError
from aggregator.fetch.http import FetchLimits, fetch
from aggregator.fetch.policy import FetchPolicy, check_outside_url
from aggregator.ingest.pipeline import Pipeline
from aggregator.storage import Storage
from aggregator.types import FeedSpec, FeedToPoll, PollOutcome
from tests.feeds import html, rss, story
from tests.helpers import Cli, free_port

SECRET = rss(
    "Internal admin",
    [{"guid": "admin-1", "title": "SECRET admin page", "link": "https://x.example/a",
      "html": html(story(1))}],
)  # fmt: skip
PUBLIC_FEED = rss(
    "Public",
    [{"guid": "p-1", "title": "A public story", "link": "https://x.example/p",
      "html": html(story(2))}],
)  # fmt: skip


@pytest.fixture(scope="module")
def _public_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.2", port=0)
    server.start()
    yield server
    if server.is_running():
        server.stop()


@pytest.fixture
def public(_public_server: HTTPServer) -> Iterator[HTTPServer]:
    """The feed server a subscriber trusts: on 127.0.0.2, listed as allowed (public).
    One server for the module, emptied of its routes after each test, as the plugin's own
    ``httpserver`` is: stopping a server waits out its serving loop's slow poll."""
    yield _public_server
    _public_server.clear()


@pytest.fixture
def internal(httpserver: HTTPServer) -> HTTPServer:
    """An internal service on 127.0.0.1 that answers with something feed-shaped."""
    httpserver.expect_request("/admin").respond_with_data(
        SECRET, content_type="application/rss+xml"
    )
    return httpserver


def _pipeline(database: str, feeds: list[str], **fetch_config: object) -> Pipeline:
    fetch: dict[str, object] = {"allow_networks": ["127.0.0.2/32"], **fetch_config}
    settings = settings_from_mapping(
        {
            "database": database,
            "feeds": [{"url": u} for u in feeds],
            "polling": {"timeout": 3, "interval": 60},
            "fetch": fetch,
        },
        None,
    )
    pipeline = Pipeline(Storage(database), settings, keep_lease=False)
    pipeline.start()
    return pipeline


def _only(outcomes: list[PollOutcome], url: str) -> PollOutcome:
    (outcome,) = [o for o in outcomes if o.feed_url == url]
    return outcome


def _redirect(location: str, status: int = 302) -> Response:
    return Response(status=status, headers={"Location": location})


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/admin",
        "http://2130706433:{port}/admin",  # 127.0.0.1 written as one number
        "http://localhost:{port}/admin",
        "http://[::ffff:127.0.0.1]:{port}/admin",
    ],
)
def test_a_redirect_from_a_public_server_to_an_internal_address_is_refused(
    public: HTTPServer, internal: HTTPServer, sqlite_url: str, target: str
) -> None:
    public.expect_request("/feed").respond_with_response(
        _redirect(target.format(port=internal.port))
    )
    feed = public.url_for("/feed")
    pipeline = _pipeline(sqlite_url, [feed])
    outcome = _only(pipeline.poll(), feed)
    assert outcome.status == "error"
    assert "refused by the fetch policy" in (outcome.error or "")
    assert not internal.log, "the internal service was contacted"
    assert pipeline.storage.list_items() == []


def test_a_301_to_an_internal_address_does_not_move_the_feed(
    public: HTTPServer, internal: HTTPServer, database_url: str
) -> None:
    public.expect_request("/feed").respond_with_response(
        _redirect(internal.url_for("/admin"), status=301)
    )
    feed = public.url_for("/feed")
    pipeline = _pipeline(database_url, [feed])
    assert _only(pipeline.poll(), feed).status == "error"
    (stored,) = pipeline.storage.list_feeds()
    assert stored.fetch_url == feed
    assert not internal.log


def test_a_redirect_to_a_file_is_refused(public: HTTPServer, sqlite_url: str) -> None:
    public.expect_request("/feed").respond_with_response(_redirect("file:///etc/hostname"))
    feed = public.url_for("/feed")
    outcome = _only(_pipeline(sqlite_url, [feed]).poll(), feed)
    assert outcome.status == "error"
    assert "a redirect may lead only to http or https" in (outcome.error or "")


def test_a_config_feed_on_loopback_still_works_and_may_redirect_within_it(
    internal: HTTPServer, sqlite_url: str
) -> None:
    """The operator's own feeds may live on private addresses: only the step from a
    public address to a private one is refused."""
    internal.expect_request("/old").respond_with_response(
        _redirect(internal.url_for("/admin"), status=301)
    )
    feed = internal.url_for("/old")
    pipeline = _pipeline(sqlite_url, [feed])
    assert _only(pipeline.poll(), feed).status == "ok"
    assert [i.title for i in pipeline.storage.list_items()] == ["SECRET admin page"]


def _message(error: FetchError) -> str:
    return error.message


def test_error_texts_are_the_same_for_closed_and_open_internal_ports(
    internal: HTTPServer,
) -> None:
    """A feed from outside the config file never reaches an internal port, so its error
    cannot tell a closed port from an open one."""
    closed = free_port()
    texts = []
    for port in (closed, internal.port):
        url = f"http://127.0.0.1:{port}/admin"
        with pytest.raises(FetchError) as caught:
            fetch(
                FeedToPoll(id=1, url=url, fetch_url=url, origin="opml"),
                FetchLimits(timeout=3),
                policy=FetchPolicy(),
            )
        texts.append(_message(caught.value))
    assert texts[0] == texts[1]
    assert texts[0].startswith("refused by the fetch policy")
    assert not internal.log


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port that drops new connections as a firewall would: its listen queue is full
    (Linux then ignores further SYNs, so a connect waits until it times out)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


def test_redirects_to_closed_and_open_internal_ports_read_the_same(
    public: HTTPServer, internal: HTTPServer, sqlite_url: str
) -> None:
    closed = free_port()
    public.expect_request("/to-closed").respond_with_response(
        _redirect(f"http://127.0.0.1:{closed}/admin")
    )
    public.expect_request("/to-open").respond_with_response(
        _redirect(f"http://127.0.0.1:{internal.port}/admin")
    )
    feeds = [public.url_for("/to-closed"), public.url_for("/to-open")]
    outcomes = _pipeline(sqlite_url, feeds).poll()
    errors = [_only(outcomes, f).error or "" for f in feeds]
    assert errors[0] != "" and errors[0] == errors[1]
    assert not internal.log


def test_a_connect_failure_has_one_text_whether_refused_or_unanswered(
    unanswered_port: int,
) -> None:
    """A closed port answers at once (refused), a filtered one never (a timeout): the
    text is the same, so errors do not map a network."""
    texts = []
    for port in (free_port(), unanswered_port):
        url = f"http://127.0.0.1:{port}/feed"
        with pytest.raises(FetchError) as caught:
            fetch(FeedToPoll(id=1, url=url, fetch_url=url), FetchLimits(timeout=1))
        texts.append(_message(caught.value).replace(f"port {port}", "port PORT"))
    assert texts[0] == texts[1] == "cannot connect: no connection to 127.0.0.1 port PORT"


# -- feeds from outside the config file -------------------------------------------------


def test_a_feed_from_outside_the_config_file_is_held_to_public_addresses(
    internal: HTTPServer, database_url: str
) -> None:
    """Checked at fetch time too (after DNS resolution): an OPML or web subscription whose
    host resolves to an internal address now is refused, however it got in."""
    pipeline = _pipeline(database_url, [])
    for url in (internal.url_for("/admin"), f"http://127.0.0.1:{internal.port}/admin"):
        pipeline.storage.add_feed(FeedSpec(url=url), origin="opml")
    outcomes = pipeline.poll()
    assert len(outcomes) == 2 and all(o.status == "error" for o in outcomes)
    assert all("refused by the fetch policy" in (o.error or "") for o in outcomes)
    assert not internal.log
    assert pipeline.storage.list_items() == []


def test_allow_private_lets_the_operator_reach_internal_servers(
    internal: HTTPServer, sqlite_url: str
) -> None:
    pipeline = _pipeline(sqlite_url, [], allow_private=True)
    pipeline.storage.add_feed(FeedSpec(url=internal.url_for("/admin")), origin="web")
    (outcome,) = pipeline.poll()
    assert outcome.status == "ok"


def test_an_outside_feed_may_not_be_a_local_file(tmp_path: Path, sqlite_url: str) -> None:
    local = tmp_path / "feed.xml"
    local.write_bytes(PUBLIC_FEED)
    pipeline = _pipeline(sqlite_url, [])
    pipeline.storage.add_feed(FeedSpec(url=str(local)), origin="opml")
    (outcome,) = pipeline.poll()
    assert outcome.status == "error" and "only http and https" in (outcome.error or "")


def test_local_files_can_be_switched_off_for_config_feeds(tmp_path: Path, sqlite_url: str) -> None:
    local = tmp_path / "feed.xml"
    local.write_bytes(PUBLIC_FEED)
    assert _only(_pipeline(sqlite_url, [str(local)]).poll(), str(local)).status == "ok"
    other = f"sqlite:///{tmp_path / 'other.db'}"
    off = _only(_pipeline(other, [str(local)], local_files=False).poll(), str(local))
    assert off.status == "error" and "fetch.local_files" in (off.error or "")


def test_check_outside_url_is_what_a_web_subscription_calls() -> None:
    policy = FetchPolicy()
    assert check_outside_url(" https://news.example/feed ", policy) == "https://news.example/feed"
    for bad in ("file:///etc/passwd", "/etc/passwd", "ftp://x.example/f", "http://10.0.0.5/"):
        with pytest.raises(FetchError):
            check_outside_url(bad, policy)
    allowed = FetchPolicy(allow_networks=(ipaddress.ip_network("10.0.0.0/8"),))
    assert check_outside_url("http://10.0.0.5/", allowed) == "http://10.0.0.5/"


# -- OPML import (defect 2) ---------------------------------------------------------------


def test_opml_import_subscribes_to_no_local_file_and_no_loopback_url(
    internal: HTTPServer, tmp_path: Path, cli: Cli
) -> None:
    hostname = Path("/etc/hostname")
    assert hostname.exists()
    local_urls = [
        "file:///etc/passwd",
        "~/.ssh/id_rsa",
        "../../etc/hostname",
        "/etc/hostname",
        "/etc/no-such-file-here",
        "/proc/self/cmdline",
        internal.url_for("/admin"),
        f"http://127.0.0.1:{internal.port}/admin",
        f"http://2130706433:{internal.port}/admin",
    ]
    outlines = "".join(
        f'<outline type="rss" text="f{i}" xmlUrl="{u}"/>' for i, u in enumerate(local_urls)
    )
    outlines += '<outline type="rss" text="ok" xmlUrl="https://news.example/feed"/>'
    (tmp_path / "subs.opml").write_text(f"<opml version='2.0'><body>{outlines}</body></opml>")
    (tmp_path / "config.yaml").write_text("feeds: []\n")
    imported = cli("feeds", "import-opml", "subs.opml", cwd=tmp_path, check=True)
    assert "1 added, 0 already subscribed, 9 skipped" in imported.stdout
    feeds = json.loads(cli("feeds", "list", "--format", "json", cwd=tmp_path).stdout)
    assert [f["url"] for f in feeds] == ["https://news.example/feed"]
    # The answer for a file that exists and one that does not is the same.
    lines = {
        line.split(": ", 1)[0].split()[-1]: line.split(": ", 1)[1]
        for line in imported.stdout.splitlines()
        if line.startswith("skipped")
    }
    assert lines["/etc/hostname"] == lines["/etc/no-such-file-here"]
    assert not any("not found" in text or "No such" in text for text in lines.values())
    cli("poll", "--once", cwd=tmp_path)
    assert not internal.log
