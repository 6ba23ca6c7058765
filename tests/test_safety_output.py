"""Issue 18, the outputs: secrets in feed URLs are never published (defect 3), the Host
header does not write absolute URLs (defect 4), published items are capped and a feed is
rendered once for many readers (defect 6), and a failing writer shows on /healthz while
undecided items are decided by the next round (defect 8)."""

from __future__ import annotations

import sqlite3
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from aggregator.config import Settings, load_settings, settings_from_mapping
from aggregator.daemon.scheduler import Daemon
from aggregator.errors import StorageError
from aggregator.ingest.pipeline import Pipeline
from aggregator.publish.app import create_app
from aggregator.publish.server import BackgroundServer
from aggregator.storage import Storage
from tests.feeds import html, rss, story
from tests.helpers import check_consistency, free_port, partition, wait_for, web_client
from tests.test_scheduler import _all_decided, _config, running

__all__ = ["running"]  # the fixture, shared with test_scheduler

LATER = datetime(2999, 1, 1, tzinfo=UTC)
SECRETS = ("alice", "s3cret-pass", "K3Y-SECRET", "T0K-SECRET", "SIG-SECRET", "PW-SECRET")


class _Files(BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        body = self.files.get(self.path.split("?")[0])
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def feed_server() -> Iterator[tuple[int, dict[str, bytes]]]:
    files: dict[str, bytes] = {}
    handler = type("Files", (_Files,), {"files": files})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll: shutdown() waits until the serving loop next looks (its default poll
    # is slow enough to show in each test's teardown).
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1], files
    server.shutdown()
    server.server_close()


def _poll(
    database_url: str, feeds: list[dict[str, Any]], **extra: Any
) -> tuple[Settings, Pipeline]:
    settings = settings_from_mapping({"database": database_url, "feeds": feeds, **extra}, None)
    pipeline = Pipeline(Storage(database_url), settings, keep_lease=False)
    pipeline.start()
    pipeline.poll()
    return settings, pipeline


# -- defect 3: secrets in feed URLs ----------------------------------------------------------


def test_redact_url_drops_user_info_and_secret_parameters_only() -> None:
    from aggregator.publish.redact import redact_url

    assert (
        redact_url("https://alice:pw@news.example/feed?apikey=1&lang=en&api_key=2&key=3")
        == "https://news.example/feed?lang=en"
    )
    for name in ("token", "access_token", "auth", "password", "secret", "sig", "signature"):
        assert redact_url(f"https://n.example/f?{name}=x&page=2") == "https://n.example/f?page=2"
    assert redact_url("https://n.example/f?author=bob&keyword=x") == (
        "https://n.example/f?author=bob&keyword=x"
    )
    assert redact_url("/srv/feeds/a.xml") == "/srv/feeds/a.xml"


def test_secrets_in_feed_urls_appear_in_no_public_output(
    database_url: str, feed_server: tuple[int, dict[str, bytes]]
) -> None:
    port, files = feed_server
    items = [
        {
            "guid": f"a{n}",
            "title": f"Story {n}",
            "link": f"https://a.example/{n}",
            "html": html(story(700 + n)),
        }
        for n in range(3)
    ]
    copies = [
        {
            "guid": f"b{n}",
            "title": f"Story {n}",
            "link": f"https://b.example/{n}",
            "html": html(story(700 + n)),
        }
        for n in range(3)
    ]
    # A story of its own (no copy may stand in for it): content with a relative image and
    # a fragment-only link, which resolves against the query too.
    lone = html(story(990)) + (
        '<p>The zeppelin <img src="/img.png" alt="x"> and the <a href="#notes">notes</a>.</p>'
    )
    items.append({"guid": "a-lone", "title": "Zeppelin", "link": "x", "html": lone})
    files["/a.xml"] = _relative_rss(items)
    files["/b.xml"] = rss("", copies)
    first = (
        f"http://alice:s3cret-pass@127.0.0.1:{port}/a.xml"
        "?apikey=K3Y-SECRET&token=T0K-SECRET&lang=en"
    )
    second = f"http://127.0.0.1:{port}/b.xml?sig=SIG-SECRET&password=PW-SECRET"
    settings, pipeline = _poll(database_url, [{"url": first}, {"url": second}])
    storage = pipeline.storage
    try:
        stored = {f.url for f in storage.list_feeds()}
        assert stored == {first, second}  # kept for fetching
        assert len(storage.list_items()) == 7
        cluster = next(c for c in storage.list_clusters(min_size=2))
        client = web_client(create_app(storage, settings))
        paths = [
            "/opml",
            "/api/feeds",
            "/feeds",
            "/api/items",
            "/api/clusters",
            f"/api/clusters/{cluster.id}",
            "/clusters",
            "/clusters?all=1",
            f"/clusters/{cluster.id}",
            "/api/search?q=zeppelin",
            "/search?q=zeppelin",
            "/feed.rss",
            "/feed.atom",
            "/feed.json",
            "/feed.json?full=1",
        ]
        members = sorted(m.id for m in cluster.members)
        paths += [
            f"/api/items/{members[0]}/explain?with={members[1]}",
            f"/items/{members[0]}/explain?with={members[1]}",
        ]
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            for secret in SECRETS:
                assert secret not in response.text, (path, secret)
        feeds = client.get("/api/feeds").json()["feeds"]
        assert sorted(f["url"] for f in feeds) == [
            f"http://127.0.0.1:{port}/a.xml?lang=en",
            f"http://127.0.0.1:{port}/b.xml",
        ]
        assert f"127.0.0.1:{port}/a.xml?lang=en" in client.get("/opml").text
        # The relative links, the relative guid and the URLs in the content resolved
        # against the address without its credentials (the query's other parameters stay).
        public = f"http://127.0.0.1:{port}"
        listed = client.get("/api/items").json()["items"]
        assert {i["link"] for i in listed} == {f"{public}/rel/{n}" for n in range(4)} | {
            f"https://b.example/{n}" for n in range(3)
        }
        assert f"{public}/guid-0" in {i["guid"] for i in listed}
        cluster_page = client.get(f"/clusters/{cluster.id}").text
        assert f"{public}/rel/" in cluster_page
        full = client.get("/feed.json?full=1").text
        assert f"{public}/img.png" in full and f"{public}/a.xml?lang=en#notes" in full
        assert f"{public}/img.png" in client.get("/feed.rss").text
        assert "zeppelin" in client.get("/api/search?q=zeppelin").text
    finally:
        pipeline.close()


def _relative_rss(items: list[dict[str, str]]) -> bytes:
    """RSS whose items have relative links and the first a relative permalink guid
    (resolved like a link)."""
    entries = "".join(
        f"<item><title>{item['title']}</title><link>/rel/{n}</link>"
        + (
            f"<guid>guid-{n}</guid>"
            if n == 0
            else f'<guid isPermaLink="false">{item["guid"]}</guid>'
        )
        + "<pubDate>Fri, 20 Nov 2026 10:00:00 +0000</pubDate>"
        f"<content:encoded><![CDATA[{item['html']}]]></content:encoded></item>"
        for n, item in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<channel><title>A</title><link>https://example.com/</link>"
        f"<description>test</description>{entries}</channel></rss>"
    ).encode()


# -- defect 4: the Host header ---------------------------------------------------------------


def test_an_unknown_host_is_refused_and_a_known_one_writes_the_urls(tmp_path: Path) -> None:
    settings = settings_from_mapping({"database": f"sqlite:///{tmp_path}/a.db"}, None)
    storage = Storage(settings.database)
    storage.upgrade()
    client = web_client(create_app(storage, settings))
    for path in ("/feed.json", "/feed.rss", "/clusters/", "/healthz", "/api/items"):
        answer = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
        assert answer.status_code == 400, path
        assert "evil.example" not in answer.text
    answer = client.get("/feed.json", headers={"Host": "127.0.0.1:8080"})
    assert answer.status_code == 200
    assert answer.json()["feed_url"] == "http://127.0.0.1:8080/feed.json"
    assert client.get("/feed.json", headers={"Host": "localhost:8080"}).status_code == 200
    storage.close()


def test_the_base_url_writes_every_absolute_url(tmp_path: Path) -> None:
    settings = settings_from_mapping(
        {
            "database": f"sqlite:///{tmp_path}/a.db",
            "server": {"base_url": "https://news.example.org/"},
        },
        None,
    )
    storage = Storage(settings.database)
    storage.upgrade()
    client = web_client(create_app(storage, settings))
    answer = client.get("/feed.json", headers={"Host": "evil.example"})
    assert answer.status_code == 200
    assert answer.json()["feed_url"] == "https://news.example.org/feed.json"
    assert answer.json()["home_page_url"] == "https://news.example.org/clusters"
    assert "evil.example" not in client.get("/feed.rss", headers={"Host": "evil.example"}).text
    moved = client.get("/clusters/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert moved.status_code in (301, 307, 308)
    assert moved.headers["location"] == "https://news.example.org/clusters"
    storage.close()


def test_allowed_hosts_from_the_config(tmp_path: Path) -> None:
    settings = settings_from_mapping(
        {
            "database": f"sqlite:///{tmp_path}/a.db",
            "server": {"host": "0.0.0.0", "allowed_hosts": ["news.example.org", "*.lan"]},
        },
        None,
    )
    storage = Storage(settings.database)
    storage.upgrade()
    client = web_client(create_app(storage, settings))
    assert client.get("/healthz", headers={"Host": "news.example.org:8080"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "box.lan"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "127.0.0.1"}).status_code == 400
    assert client.get("/healthz", headers={"Host": "evil.example"}).status_code == 400
    storage.close()


# -- defect 6: caps on output -----------------------------------------------------------------

BIG = 2 * 1024 * 1024
CAP = 256 * 1024


def _huge_feed(tmp_path: Path, count: int = 6) -> Path:
    items = []
    for n in range(count):
        paragraphs = story(900 + n, paragraphs=8)
        body = html(paragraphs)
        items.append(
            {
                "guid": f"h{n}",
                "title": f"Huge {n}",
                "link": f"https://huge.example/{n}",
                "html": body * (BIG // len(body) + 1),
            }
        )
    path = tmp_path / "huge.xml"
    path.write_bytes(rss("Huge", items))
    return path


@pytest.fixture(scope="module")
def huge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Storage]]:
    tmp_path = tmp_path_factory.mktemp("huge")
    feed = _huge_feed(tmp_path)
    settings, pipeline = _poll(
        f"sqlite:///{tmp_path}/huge.db",
        [{"url": str(feed)}],
        polling={"max_bytes": 64 * 1024 * 1024},
    )
    yield settings, pipeline.storage
    pipeline.close()


def test_published_content_is_cut_with_a_link_to_the_original(
    huge: tuple[Settings, Storage],
) -> None:
    settings, storage = huge
    client = web_client(create_app(storage, settings))
    for path in ("/feed.rss", "/feed.atom", "/feed.json", "/feed.json?full=1"):
        answer = client.get(path)
        assert answer.status_code == 200
        # Six stories of 2 MB each: each entry at most the cap (plus its markup, escaped
        # in XML), never the whole story.
        assert len(answer.content) < 6 * CAP * 1.6, path
        for n in range(6):
            assert f"https://huge.example/{n}" in answer.text
        assert answer.text.count("read it all at its source") == 6, path
    document = client.get("/feed.json").json()
    for item in document["items"]:
        assert len(item["content_html"].encode()) <= CAP + 4096


def _concurrent_peak(app: Any, paths: list[str]) -> int:
    port = free_port()
    server = BackgroundServer(app, "127.0.0.1", port)
    server.start()
    barrier = threading.Barrier(len(paths))
    sizes: list[int] = []

    def get(path: str) -> None:
        barrier.wait()
        answer = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=120)
        assert answer.status_code == 200
        sizes.append(len(answer.content))

    try:
        tracemalloc.start()
        threads = [threading.Thread(target=get, args=(p,)) for p in paths]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(180)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        server.stop()
    assert len(sizes) == len(paths)
    return peak


def test_six_readers_of_a_huge_feed_cost_one_rendering(huge: tuple[Settings, Storage]) -> None:
    settings, storage = huge
    one = _concurrent_peak(create_app(storage, settings), ["/feed.rss"])
    app = create_app(storage, settings)
    six = _concurrent_peak(app, ["/feed.rss"] * 6)
    assert app.state.feed_cache.renders == 1  # the others were served the same bytes
    assert six < 2 * one, (six, one)


# -- defect 8: a failing writer ----------------------------------------------------------------


def test_healthz_reports_a_writer_that_keeps_failing(
    tmp_path: Path, running: Callable[[Daemon], threading.Thread]
) -> None:
    settings = load_settings(_config(tmp_path), {})
    daemon = Daemon(settings, tick=0.25)
    assert daemon.health.unhealthy_after == 3
    running(daemon)
    database = tmp_path / "agg.db"
    wait_for(lambda: _all_decided(database), 20, "the feed stored and decided")
    client = web_client(create_app(daemon.pipeline.storage, settings, health=daemon.health))
    assert client.get("/healthz").status_code == 200
    with sqlite3.connect(database, timeout=10) as connection:
        connection.execute("ALTER TABLE feeds RENAME TO feeds_elsewhere")  # storage breaks

    def failing() -> dict[str, Any] | None:
        answer = client.get("/healthz")
        return answer.json() if answer.status_code == 503 else None

    body = wait_for(failing, 20, "/healthz answering 503")
    assert body["status"] == "failing" and body["scheduler"] == "running"
    assert body["failing"] and all(n >= 3 for n in body["consecutive_failures"].values())
    assert body["last_cycle_error"].startswith("StorageError: ")
    with sqlite3.connect(database, timeout=10) as connection:
        connection.execute("ALTER TABLE feeds_elsewhere RENAME TO feeds")
    wait_for(lambda: client.get("/healthz").status_code == 200, 20, "/healthz back to 200")
    assert client.get("/healthz").json()["failing"] == []


def test_the_threshold_comes_from_the_config(tmp_path: Path) -> None:
    settings = settings_from_mapping(
        {"database": f"sqlite:///{tmp_path}/a.db", "server": {"unhealthy_after": 1}}, None
    )
    daemon = Daemon(settings)
    try:
        daemon.health.scheduler_running = True
        daemon.health.cycle_done("decide", StorageError("storage: database or disk is full"))
        client = web_client(create_app(daemon.pipeline.storage, settings, health=daemon.health))
        answer = client.get("/healthz")
        assert answer.status_code == 503 and answer.json()["failing"] == ["decide"]
        daemon.health.cycle_done("decide")
        assert client.get("/healthz").status_code == 200
    finally:
        daemon.pipeline.close()


def test_items_whose_decision_failed_are_decided_by_the_next_round(
    database_url: str, tmp_path: Path
) -> None:
    """A decision that fails ("database or disk is full") leaves its items waiting in
    the database; the daemon's next decide round places them, without a restart."""

    class FullDisk(Storage):
        fail_next = False

        def fingerprint_blobs(self, item_ids, scheme):  # type: ignore[no-untyped-def]
            if self.fail_next:
                self.fail_next = False
                raise StorageError("storage: read stored fingerprints: database or disk is full")
            return super().fingerprint_blobs(item_ids, scheme)

    def write(name: str, prefix: str, copy: bool = False) -> Path:
        path = tmp_path / f"{name}.xml"
        entries = [
            {
                "guid": f"{prefix}{n}",
                "title": f"{prefix} {n}",
                "link": f"https://{prefix}.example/{n}",
                "html": html(story(800 + n)),
            }
            for n in range(4)
        ]
        if copy:  # a copy of story 803 with a line of its own: verified on the shingles
            entries.append(
                {
                    "guid": f"{prefix}4",
                    "title": f"{prefix} 4",
                    "link": f"https://{prefix}.example/4",
                    "html": html(story(803)) + "<p>This copy has a sentence of its own.</p>",
                }
            )
        path.write_bytes(rss(name, entries))
        return path

    first, second = write("A", "a"), write("B", "b")
    storage = FullDisk(database_url)
    settings = settings_from_mapping(
        {"database": database_url, "feeds": [{"url": str(first)}, {"url": str(second)}]}, None
    )
    pipeline = Pipeline(storage, settings)  # keeps the lease, as the daemon does
    try:
        pipeline.start()
        pipeline.store(storage.feeds_to_poll(due_before=LATER))
        pipeline.decide_waiting()  # feed A's and B's items
        assert storage.decision_backlog()[0] == 0
        write("B", "b", copy=True)  # one new copy
        storage.fail_next = True
        pipeline.store(storage.feeds_to_poll(due_before=LATER))
        with pytest.raises(StorageError, match="disk is full"):
            pipeline.decide_waiting()
        assert storage.fail_next is False
        assert storage.decision_backlog()[0] >= 1  # still waiting, in the database
        pipeline.decide_waiting()  # the next round
        assert storage.decision_backlog()[0] == 0
        check_consistency(pipeline)
        assert any({"a3", "b4"} <= group for group in partition(pipeline))
    finally:
        pipeline.close()
