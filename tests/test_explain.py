"""``clusters explain`` and the engine use one set of rules, so they cannot disagree.

A small corpus gives every method the engine can produce; for each stored membership,
``explain`` (through the command line, in process) must name the same rule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aggregator.cli import main
from aggregator.dedup.rules import Method
from tests.feeds import FOOTER, html, rss, story


def _item(guid: str, link: str, paragraphs: list[str]) -> dict[str, str]:
    return {"guid": guid, "title": guid, "link": link, "html": html(paragraphs, FOOTER)}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Two feeds whose items earn one edge of each kind, and a config polling them."""
    full = story(4, paragraphs=6)
    copy = story(3, paragraphs=6)
    feed_a = [
        # Same article link (one copy with a tracking parameter), unrelated bodies.
        _item("a-url", "https://news.example/story/1?utm_source=feed", story(1)),
        _item("a-hash", "https://a.example/2", story(2)),
        _item("a-minhash", "https://a.example/3", copy),
        _item("a-full", "https://a.example/4", full),
        _item("a-split", "https://a.example/5", story(5)),
        _item("a-single", "https://a.example/6", story(6)),
    ]
    first_words = " ".join(" ".join(full).split()[:50])
    feed_b = [
        _item("b-url", "https://news.example/story/1", story(100)),
        _item("b-hash", "https://b.example/2", story(2)),
        # One paragraph dropped, one of its own: Jaccard about 0.7.
        _item("b-minhash", "https://b.example/3", copy[:5] + story(103, paragraphs=1)),
        _item("b-summary", "https://b.example/4", [first_words]),
        _item("b-split", "https://b.example/5", story(5)),
    ]
    for name, items in (("a.xml", feed_a), ("b.xml", feed_b)):
        (tmp_path / name).write_bytes(rss(name, items))
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path / 'db.sqlite'}\nfeeds:\n  - url: a.xml\n  - url: b.xml\n"
    )
    return config


def _cli(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> Any:
    capsys.readouterr()
    assert main(["--config", str(config), *args]) == 0
    return json.loads(capsys.readouterr().out) if "--format" in args else None


def _ids(capsys: pytest.CaptureFixture[str], config: Path) -> dict[str, dict[str, Any]]:
    items = _cli(capsys, config, "items", "list", "--format", "json", "--all")
    return {item["guid"]: item for item in items}


def test_the_same_link_over_unrelated_bodies_is_explained_as_the_url_rule(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli(capsys, corpus, "poll", "--once")
    items = _ids(capsys, corpus)
    a, b = items["a-url"], items["b-url"]
    assert a["cluster_id"] == b["cluster_id"]
    [report] = _cli(
        capsys, corpus, "clusters", "explain", str(a["id"]), str(b["id"]), "--format", "json"
    )
    comparison = report["comparison"]
    assert comparison["same_cluster"] is True
    assert comparison["method"] == Method.URL
    assert comparison["rule"].startswith("url:")
    assert "different stories" not in json.dumps(report)


def test_explain_names_the_rule_of_every_stored_membership(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli(capsys, corpus, "poll", "--once")
    items = _ids(capsys, corpus)
    _cli(capsys, corpus, "clusters", "split", str(items["b-split"]["id"]))
    items = _ids(capsys, corpus)
    methods = {item["method"] for item in items.values()}
    assert methods == {m.value for m in Method}, "the corpus covers every method"
    for guid, item in items.items():
        [report] = _cli(capsys, corpus, "clusters", "explain", str(item["id"]), "--format", "json")
        [explained] = report["items"]
        membership = explained["membership"]
        assert membership["method"] == item["method"], (guid, membership)
        assert membership["agrees"] is True, guid
        assert (
            explained["matched_item_id"] is None
            or items_by_id(items)[explained["matched_item_id"]]["cluster_id"] == item["cluster_id"]
        )


def test_two_items_in_different_clusters_are_different_stories(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli(capsys, corpus, "poll", "--once")
    items = _ids(capsys, corpus)
    a, b = items["a-single"], items["a-hash"]
    [report] = _cli(
        capsys, corpus, "clusters", "explain", str(a["id"]), str(b["id"]), "--format", "json"
    )
    assert report["comparison"]["same_cluster"] is False
    assert report["comparison"]["method"] is None
    assert report["comparison"]["rule"].startswith("different stories")
    assert report["comparison"]["jaccard"] < 0.5


def items_by_id(items: dict[str, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {item["id"]: item for item in items.values()}


def briefing_corpus(tmp_path: Path, d: int) -> Path:
    """A feed of five stories, a briefing made of their leads in house style ``d`` (of ten),
    and a teaser of the first story in a third feed; the config polling them."""
    from tests.test_hard_cases import _digest, _teaser

    body, stories = _digest(d)
    story_items = [
        {
            "guid": f"story-{n}",
            "title": s.title,
            "link": f"https://northsound.example/news/{s.slug}",
            "html": "".join(f"<p>{p}</p>" for p in s.paragraphs),
            "date": "Tue, 01 Dec 2026 05:00:00 +0000",
        }
        for n, s in enumerate(stories)
    ]
    briefing = {
        "guid": "briefing",
        "title": "Morning Briefing",
        "link": "https://northsound.example/briefing/tuesday",
        "html": body,
        "date": "Tue, 01 Dec 2026 07:00:00 +0000",
    }
    teaser = {
        "guid": "teaser",
        "title": stories[0].title,
        "link": "https://headlines.example/1",
        "html": _teaser(stories[0], 18),
        "date": "Tue, 01 Dec 2026 08:00:00 +0000",
    }
    feeds: dict[str, list[dict[str, str]]] = {
        "news.xml": story_items,
        "briefing.xml": [briefing],
        "headlines.xml": [teaser],
    }
    for name, entries in feeds.items():
        (tmp_path / name).write_bytes(rss(name, entries))
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path / 'db.sqlite'}\nfeeds:\n"
        + "".join(f"  - url: {name}\n" for name in feeds)
    )
    return config


@pytest.mark.parametrize("d", range(10))
def test_explain_says_a_briefing_contains_the_leads_of_its_stories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], d: int
) -> None:
    """A briefing made of five stories' leads (ten house styles), beside the stories and a
    teaser of the first: ``explain`` names it a digest of the stories whose leads it holds
    below its opening, and neither the teaser nor any story a digest."""
    config = briefing_corpus(tmp_path, d)
    _cli(capsys, config, "poll", "--once")
    items = _ids(capsys, config)
    digest_id, teaser_id = items["briefing"]["id"], items["teaser"]["id"]
    assert items["teaser"]["cluster_id"] == items["story-0"]["cluster_id"]
    [report] = _cli(
        capsys, config, "clusters", "explain", str(digest_id), str(teaser_id), "--format", "json"
    )
    briefing_entry, teaser_entry = report["items"]
    # The leads below its opening: all five, or the last four when it opens with the first.
    clusters = [items[f"story-{n}"]["cluster_id"] for n in range(5)]
    named = briefing_entry["digest"]["clusters"]
    assert named in (clusters, clusters[1:]), (named, clusters)
    assert briefing_entry["digest"]["rule"].startswith(
        f"digest: item {digest_id} holds the leads of {len(named)} other stories below its "
        "opening (cluster "
    )
    assert "digest" not in teaser_entry
    assert report["comparison"]["same_cluster"] is False
    assert report["comparison"]["digest"] == briefing_entry["digest"]["rule"]
    for n in range(5):
        [alone] = _cli(
            capsys,
            config,
            "clusters",
            "explain",
            str(items[f"story-{n}"]["id"]),
            "--format",
            "json",
        )
        assert "digest" not in alone["items"][0]


def test_items_that_open_with_one_standfirst_are_no_digests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Items of a network open with the same standfirst: each holds the others' openings,
    but at its own start, which is a heading they share, not leads below it."""
    standfirst = (
        "Editor's note: this story is part of our coverage of the county elections, and our "
        "reporters are on the ground across the region."
    )
    entries = [
        {
            "guid": f"e{n}",
            "title": f"Election story {n}",
            "link": f"https://a.example/{n}",
            "html": f"<p>{standfirst}</p>" + "".join(f"<p>{p}</p>" for p in story(300 + n)),
        }
        for n in range(5)
    ]
    # One item a feed: no feed carries the standfirst often enough for it to be learned.
    for n, entry in enumerate(entries):
        (tmp_path / f"f{n}.xml").write_bytes(rss(f"f{n}.xml", [entry]))
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path / 'db.sqlite'}\nfeeds:\n"
        + "".join(f"  - url: f{n}.xml\n" for n in range(len(entries)))
    )
    _cli(capsys, config, "poll", "--once")
    for item in _ids(capsys, config).values():
        [report] = _cli(capsys, config, "clusters", "explain", str(item["id"]), "--format", "json")
        assert "digest" not in report["items"][0]
