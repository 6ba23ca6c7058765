"""OPML in and out: the CLI verbs, GET /opml, and hostile OPML files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator.config import settings_from_mapping
from aggregator.publish.app import create_app
from aggregator.publish.opml import OpmlError, parse_opml, render_opml
from aggregator.storage import Storage
from aggregator.types import FeedSpec
from tests.helpers import Cli, CliResult, web_client

SAMPLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My feeds</title></head>
  <body>
    <outline text="News">
      <outline type="rss" text="Harbor Daily" xmlUrl="https://harbor.example/feed.xml"/>
      <outline text="Local">
        <outline type="rss" title="Alder Post" text="ignored" xmlUrl="https://alder.example/rss"/>
      </outline>
    </outline>
    <outline type="rss" text="Loose" xmlUrl="https://loose.example/atom" category="/Tech/Gadgets"/>
    <outline type="rss" text="Duplicate" xmlUrl="https://harbor.example/feed.xml"/>
    <outline type="rss" text="Local file" xmlUrl="feeds/local.xml"/>
    <outline type="rss" text="Bad scheme" xmlUrl="javascript:alert(1)"/>
  </body>
</opml>
"""


def test_parse_reads_names_groups_and_skips_duplicates() -> None:
    feeds = parse_opml(SAMPLE)
    assert [(f.url, f.name, f.group) for f in feeds] == [
        ("https://harbor.example/feed.xml", "Harbor Daily", "News"),
        ("https://alder.example/rss", "Alder Post", "Local"),
        ("https://loose.example/atom", "Loose", "Gadgets"),
        ("feeds/local.xml", "Local file", None),
        ("javascript:alert(1)", "Bad scheme", None),
    ]


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
        b'<opml><body><outline xmlUrl="&b;"/></body></opml>',
        b'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "file:///etc/passwd"><opml/>',
        b"<opml><body><outline xmlUrl='x'></body>",
        b"<rss><channel/></rss>",
        b"\xff\xfe not xml",
    ],
)
def test_hostile_or_broken_files_are_refused(document: bytes) -> None:
    with pytest.raises(OpmlError):
        parse_opml(document)


def test_import_then_export_round_trips(tmp_path: Path, cli: Cli) -> None:
    def _cli(workdir: Path, *args: str) -> CliResult:
        return cli(*args, cwd=workdir)

    (tmp_path / "config.yaml").write_text("feeds: []\n")
    (tmp_path / "subs.opml").write_bytes(SAMPLE)
    imported = _cli(tmp_path, "feeds", "import-opml", "subs.opml")
    assert imported.returncode == 0, imported.stderr
    assert (
        "imported 5 feeds from subs.opml: 3 added, 0 already subscribed, 2 skipped"
        in imported.stdout
    )
    again = _cli(tmp_path, "feeds", "import-opml", "subs.opml")
    assert "0 added, 3 already subscribed, 2 skipped" in again.stdout

    feeds = json.loads(_cli(tmp_path, "feeds", "list", "--format", "json").stdout)
    by_url = {f["url"]: f for f in feeds}
    assert by_url["https://alder.example/rss"]["name"] == "Alder Post"
    assert by_url["https://alder.example/rss"]["group"] == "Local"
    # An OPML file may come from anywhere: a path in it is never subscribed to.
    assert not any("local.xml" in url for url in by_url)

    exported = _cli(tmp_path, "feeds", "export-opml")
    assert exported.returncode == 0
    back = parse_opml(exported.stdout.encode())
    assert {(f.url, f.name, f.group) for f in back} == {
        (f["url"], f["name"], f["group"]) for f in feeds
    }
    _cli(tmp_path, "feeds", "export-opml", "--output", "out.opml")
    assert (tmp_path / "out.opml").read_text() == exported.stdout

    bad = _cli(tmp_path, "feeds", "import-opml", "missing.opml")
    assert bad.returncode == 1 and "cannot read missing.opml" in bad.stderr


def test_get_opml_lists_the_subscriptions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    storage = Storage(url)
    storage.upgrade()
    storage.add_feed(FeedSpec(url="https://a.example/feed", name='A & <B> "feed"', group="g"))
    storage.add_feed(FeedSpec(url="https://c.example/feed"))
    client = web_client(create_app(storage, settings_from_mapping({"database": url}, None)))
    response = client.get("/opml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/x-opml")
    assert response.content == render_opml(storage.list_feeds())
    feeds = parse_opml(response.content)
    assert [(f.url, f.name, f.group) for f in feeds] == [
        ("https://c.example/feed", "https://c.example/feed", None),
        ("https://a.example/feed", 'A & <B> "feed"', "g"),
    ]
