"""The CLI as a user runs it, over a copy of the bundled seeds: in this process through
``aggregator.cli.main`` (:class:`tests.helpers.Cli`), and as a real process where the
process itself is the point."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import pytest

from aggregator import __version__
from tests.conftest import REPO, SEEDS
from tests.feeds import html, rss, story
from tests.helpers import Cli


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A copy of the repo's config.yaml and seeds/, as a newcomer's checkout has them."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


def _pairs(groups: dict[object, list[tuple[str, str]]]) -> set[frozenset[tuple[str, str]]]:
    return {frozenset(p) for members in groups.values() for p in combinations(members, 2)}


def test_poll_the_seeds_and_inspect(demo: Path, cli: Cli) -> None:
    def run(*args: str) -> str:
        return cli(*args, cwd=demo, check=True).stdout

    poll = run("poll", "--once")
    lines = poll.strip().splitlines()
    assert len(lines) == 6 and lines[-1].startswith("polled 5 feeds (0 failed): 81 new")
    assert (demo / "aggregator.db").exists()

    items = json.loads(run("items", "list", "--format", "json", "--all"))
    assert len(items) == 81
    for field in (
        "id",
        "feed_url",
        "guid",
        "link",
        "title",
        "published",
        "cluster_id",
        "canonical",
    ):
        assert all(field in item for item in items)
    assert all(item["published"].endswith("Z") for item in items)

    # The clustering matches the labels in seeds/truth.json exactly.
    truth = json.loads((SEEDS / "truth.json").read_text())
    by_story: dict[object, list[tuple[str, str]]] = defaultdict(list)
    for t in truth["items"]:
        by_story[t["story"]].append((t["feed"], t["guid"]))
    by_cluster: dict[object, list[tuple[str, str]]] = defaultdict(list)
    for item in items:
        by_cluster[item["cluster_id"]].append((Path(item["feed_url"]).name, item["guid"]))
    assert _pairs(by_cluster) == _pairs(by_story)

    clusters = json.loads(run("clusters", "list", "--format", "json"))
    assert clusters and all(c["size"] >= 2 for c in clusters)
    assert any(c["feed_count"] >= 2 for c in clusters)
    biggest = max(clusters, key=lambda c: c["size"])
    assert biggest["canonical_item"]["title"].startswith("US and Japan Forge AI Alliance")
    for member in biggest["members"]:
        assert {"feed_url", "guid", "title", "method", "score"} <= set(member)
    shown = run("clusters", "show", str(biggest["id"]))
    assert "US and Japan Forge AI Alliance" in shown

    # Polling again adds nothing and changes no cluster.
    again = run("poll", "--once").strip().splitlines()[-1]
    assert "0 new, 0 updated; 81 items" in again
    items_again = json.loads(run("items", "list", "--format", "json", "--all"))
    assert {(i["guid"], i["cluster_id"]) for i in items_again} == {
        (i["guid"], i["cluster_id"]) for i in items
    }

    feeds = json.loads(run("feeds", "list", "--format", "json"))
    assert len(feeds) == 5
    assert all(
        f["last_error"] is None and f["error_count"] == 0 and f["last_success"] for f in feeds
    )

    learned = json.loads(run("boilerplate", "list", "--format", "json"))
    assert any(b["text"] == "follow our other news and article networks here:" for b in learned)
    assert all(b["text"] for b in learned)  # a learned block keeps its text across restarts

    a, b = biggest["members"][0]["id"], biggest["members"][1]["id"]
    explained = json.loads(run("clusters", "explain", str(a), str(b), "--format", "json"))[0]
    assert explained["comparison"]["same_cluster"] is True
    assert explained["items"][0]["boilerplate_removed"]
    rebuild = run("dedup", "rebuild", "--dry-run")
    assert "would move 0 items" in rebuild


def test_feeds_add_and_remove(demo: Path, cli: Cli) -> None:
    extra = demo / "extra.xml"
    shutil.copy(SEEDS / "daily-watch-news.xml", extra)
    assert (
        "added" in cli("feeds", "add", "extra.xml", "--name", "Extra", cwd=demo, check=True).stdout
    )
    assert "already subscribed" in cli("feeds", "add", "extra.xml", cwd=demo, check=True).stdout
    feeds = json.loads(cli("feeds", "list", "--format", "json", cwd=demo, check=True).stdout)
    assert any(f["url"] == str(extra) and f["name"] == "Extra" for f in feeds)
    cli("poll", "--once", cwd=demo, check=True)
    removed = cli("feeds", "remove", "extra.xml", cwd=demo, check=True)
    assert "removed" in removed.stdout and "20 items" in removed.stdout
    feeds = json.loads(cli("feeds", "list", "--format", "json", cwd=demo, check=True).stdout)
    assert all(f["url"] != str(extra) for f in feeds)
    missing = cli("feeds", "remove", "extra.xml", cwd=demo)
    assert missing.returncode == 1 and "no feed" in missing.stderr


def test_a_poll_with_broken_feeds_exits_zero_and_records_errors(demo: Path, cli: Cli) -> None:
    (demo / "broken.xml").write_text("this is not a feed")
    config = (demo / "config.yaml").read_text()
    config += "  - url: broken.xml\n  - url: http://127.0.0.1:9/refused.xml\n"
    (demo / "config.yaml").write_text(config)
    poll = cli("poll", "--once", cwd=demo, check=True)
    assert "polled 7 feeds (2 failed)" in poll.stdout
    feeds = {
        Path(f["url"]).name: f
        for f in json.loads(cli("feeds", "list", "--format", "json", cwd=demo, check=True).stdout)
    }
    assert feeds["broken.xml"]["error_count"] == 1 and feeds["broken.xml"]["last_error"]
    assert feeds["refused.xml"]["error_count"] == 1


def test_database_url_from_the_environment(demo: Path, cli: Cli) -> None:
    sqlite_url = f"sqlite:///{demo / 'elsewhere.db'}"
    result = cli("db", "upgrade", cwd=demo, env={"AGGREGATOR_DATABASE_URL": sqlite_url})
    assert result.returncode == 0, result.stderr
    assert Path(sqlite_url.removeprefix("sqlite:///")).exists()
    assert not (demo / "aggregator.db").exists()


def _rows(printed: str, headers: list[str]) -> list[str]:
    """The data rows of a table the CLI printed, after checking its header and rule."""
    lines = printed.rstrip("\n").splitlines()
    assert [h.strip() for h in lines[0].split("  ") if h.strip()] == headers, lines[0]
    assert set(lines[1]) == {"-", " "}
    return lines[2:]


def test_the_tables_show_what_the_json_holds(demo: Path, cli: Cli) -> None:
    def run(*args: str) -> str:
        return cli(*args, cwd=demo, check=True).stdout

    run("poll", "--once")
    items = json.loads(run("items", "list", "--format", "json", "--all"))
    rows = _rows(
        run("items", "list", "--limit", "3"),
        ["id", "published", "cluster", "canon", "method", "title", "feed"],
    )
    assert [int(row.split()[0]) for row in rows] == [i["id"] for i in items[:3]]
    assert all(f"  {i['method']}  " in row for row, i in zip(rows, items[:3], strict=True))
    # --feed takes a path relative to the current directory, as `feeds add` does.
    watch = str(demo / "seeds" / "daily-watch-news.xml")
    of_feed = json.loads(
        run("items", "list", "--feed", "seeds/daily-watch-news.xml", "--format", "json", "--all")
    )
    assert len(of_feed) == sum(i["feed_url"] == watch for i in items) == 20
    assert {i["feed_url"] for i in of_feed} == {watch}

    clusters = json.loads(run("clusters", "list", "--format", "json"))
    rows = _rows(run("clusters", "list"), ["id", "size", "feeds", "canonical title", "methods"])
    assert [int(row.split()[0]) for row in rows] == [c["id"] for c in clusters]
    every = json.loads(run("clusters", "list", "--all", "--format", "json"))
    assert len(every) > len(clusters) and {c["size"] for c in every} >= {1, 2}
    assert (
        len(
            _rows(
                run("clusters", "list", "--all", "--limit", "4"),
                ["id", "size", "feeds", "canonical title", "methods"],
            )
        )
        == 4
    )

    biggest = max(clusters, key=lambda c: c["size"])
    shown = run("clusters", "show", str(biggest["id"]))
    title, _, table = shown.partition("\n")
    assert title == (
        f"cluster {biggest['id']}: {biggest['size']} items from {biggest['feed_count']} feeds"
    )
    members = _rows(table, ["item", "canon", "method", "score", "published", "title", "feed"])
    assert len(members) == biggest["size"]
    canonical = [row for row in members if row.split()[1] == "*"]
    assert len(canonical) == 1
    assert int(canonical[0].split()[0]) == biggest["canonical_item"]["id"]
    missing = cli("clusters", "show", "999999", cwd=demo)
    assert (missing.returncode, missing.stderr) == (1, "aggregator: no cluster 999999\n")

    feeds = json.loads(run("feeds", "list", "--format", "json"))
    rows = _rows(
        run("feeds", "list"),
        [
            "id",
            "name",
            "group",
            "priority",
            "items",
            "errors",
            "last success",
            "last error",
            "url",
        ],
    )
    for row, feed in zip(rows, feeds, strict=True):  # long URLs are cut at 60 characters
        assert f"  {feed['name']}  " in row and f"  {feed['group']}  " in row
        shown = row.split()[-1]
        assert shown == feed["url"] or (
            len(shown) == 60 and shown.endswith("…") and feed["url"].startswith(shown[:-1])
        )

    learned = json.loads(run("boilerplate", "list", "--format", "json"))
    rows = _rows(run("boilerplate", "list"), ["items", "feeds", "text"])
    assert len(rows) == len(learned)
    assert any(row.endswith("follow our other news and article networks here:") for row in rows)

    a, b = biggest["members"][0]["id"], biggest["members"][1]["id"]
    as_text = json.loads(run("clusters", "explain", str(a), str(b)))
    assert as_text == json.loads(run("clusters", "explain", str(a), str(b), "--format", "json"))[0]
    three = cli("clusters", "explain", str(a), str(b), "1", cwd=demo)
    assert (three.returncode, three.stdout) == (2, "")
    assert three.stderr.endswith("error: unrecognized arguments: 1\n")

    rebuilt = run("dedup", "rebuild")
    assert rebuilt.startswith(f"re-decided {len(items)} items: moved 0 items; ")
    assert json.loads(run("items", "list", "--format", "json", "--all")) == items


def test_usage_errors(tmp_path: Path, cli: Cli) -> None:
    bare = cli(cwd=tmp_path)
    assert bare.returncode == 2 and bare.stdout.startswith("usage: aggregator")
    assert "poll" in bare.stdout and "feeds" in bare.stdout
    (tmp_path / "config.yaml").write_text("feeds: []\n")
    wrong = cli("clusters", "show", "seven", cwd=tmp_path)
    assert wrong.returncode == 2 and "invalid int value: 'seven'" in wrong.stderr
    assert not (tmp_path / "aggregator.db").exists()  # stopped before any work


def test_errors_inside_a_verb_are_one_line_with_their_status(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "config.yaml").write_text("feeds: []\n")
    bad_url = cli("feeds", "add", "ftp://files.example/feed.xml", cwd=tmp_path)
    assert (bad_url.returncode, bad_url.stdout) == (1, "")
    assert bad_url.stderr == (
        "aggregator: not subscribed to ftp://files.example/feed.xml: unsupported scheme 'ftp' "
        "(use http, https, file or a path) (--force subscribes anyway)\n"
    )

    (tmp_path / "broken.yaml").write_text(
        "database: sqlite:////nonexistent-dir/for/sure/agg.db\nfeeds: []\n"
    )
    broken = cli("--config", "broken.yaml", "feeds", "list", cwd=tmp_path)
    # A database that cannot be opened is a startup error (issue 18): status 2.
    assert broken.returncode == 2 and broken.stdout == ""
    (line,) = broken.stderr.splitlines()
    assert line.startswith("aggregator: storage: cannot open database ")


def test_removing_a_feed_the_config_lists_says_it_comes_back(tmp_path: Path, cli: Cli) -> None:
    shutil.copy(SEEDS / "daily-watch-news.xml", tmp_path / "listed.xml")
    (tmp_path / "config.yaml").write_text("feeds:\n  - listed.xml\n")
    assert cli("feeds", "add", "listed.xml", cwd=tmp_path, check=True).stdout.startswith("added: ")
    removed = cli("feeds", "remove", "listed.xml", cwd=tmp_path, check=True)
    assert removed.stdout == f"removed feed 1 ({tmp_path / 'listed.xml'}) and its 0 items\n"
    assert "still listed in the config file" in removed.stderr


def _feed(path: Path, items: list[tuple[str, str, list[str]]]) -> Path:
    """An RSS file of (guid, link, paragraphs) items."""
    path.write_bytes(
        rss(
            path.stem,
            [{"guid": g, "title": g, "link": link, "html": html(text)} for g, link, text in items],
        )
    )
    return path


def test_rebuild_after_a_stricter_threshold_reports_the_moves(tmp_path: Path, cli: Cli) -> None:
    stories = [story(600 + n, paragraphs=3) for n in range(60)]
    _feed(
        tmp_path / "a.xml",
        [(f"a{n}", f"https://a.example/{n}", text) for n, text in enumerate(stories)],
    )
    # The same stories with a line of their own at the end: Jaccard about 0.9.
    _feed(
        tmp_path / "b.xml",
        [
            (
                f"b{n}",
                f"https://b.example/{n}",
                text + [f"Filed by desk {n} at {n % 12} o'clock today."],
            )
            for n, text in enumerate(stories)
        ],
    )
    config = tmp_path / "config.yaml"
    config.write_text("feeds: [a.xml, b.xml]\n")
    polled = cli("poll", "--once", cwd=tmp_path, check=True).stdout.splitlines()[-1]
    assert "120 new, 0 updated; 120 items in 60 clusters (60 with copies)" in polled

    config.write_text("feeds: [a.xml, b.xml]\ndedup:\n  threshold: 0.99\n")
    dry = cli("dedup", "rebuild", "--dry-run", cwd=tmp_path, check=True).stdout.splitlines()
    assert dry[0] == "re-decided 120 items: would move 60 items; 60 clusters before, 120 after"
    assert len(dry) == 1 + 50 + 1 and dry[-1] == "  … and 10 more"
    assert all(line.startswith("  item ") and "→" in line for line in dry[1:51])
    assert (
        json.loads(cli("clusters", "list", "--format", "json", cwd=tmp_path, check=True).stdout)
        != []
    )  # a dry run changes nothing

    done = cli("dedup", "rebuild", cwd=tmp_path, check=True).stdout.splitlines()
    assert done[0] == "re-decided 120 items: moved 60 items; 60 clusters before, 120 after"
    assert done[1:] == dry[1:]
    assert (
        json.loads(cli("clusters", "list", "--format", "json", cwd=tmp_path, check=True).stdout)
        == []
    )


def test_an_item_that_matches_two_clusters_merges_them_with_a_note(
    tmp_path: Path, cli: Cli
) -> None:
    first, second = story(701), story(702)
    _feed(tmp_path / "one.xml", [("a", "https://one.example/2026/a", first)])
    _feed(tmp_path / "two.xml", [("b", "https://two.example/2026/b", second)])
    (tmp_path / "config.yaml").write_text("feeds: [one.xml, two.xml]\n")
    cli("poll", "--once", cwd=tmp_path, check=True)
    # A third feed's item: the first one's link and the second one's text.
    _feed(tmp_path / "three.xml", [("c", "https://one.example/2026/a", second)])
    (tmp_path / "config.yaml").write_text("feeds: [one.xml, two.xml, three.xml]\n")
    cli("poll", "--once", cwd=tmp_path, check=True)
    (cluster,) = json.loads(
        cli("clusters", "list", "--format", "json", cwd=tmp_path, check=True).stdout
    )
    assert cluster["size"] == 3 and cluster["note"].startswith("merged clusters ")
    shown = cli("clusters", "show", str(cluster["id"]), cwd=tmp_path, check=True).stdout
    assert shown.splitlines()[1] == f"note: {cluster['note']}"


def test_verbose_logs_to_stderr_and_leaves_this_process_as_it_was(demo: Path, cli: Cli) -> None:
    """``-v`` logs progress, ``-vv`` debug, on stderr; the in-process run puts back the
    logging, the directory and the environment it changed for the command."""
    root = logging.getLogger()
    handlers, level, cwd = list(root.handlers), root.level, Path.cwd()
    environ = dict(os.environ)
    quiet = cli("poll", "--once", cwd=demo, check=True)
    assert quiet.stderr == ""
    chatty = cli("-vv", "poll", "--once", cwd=demo, check=True)
    assert " DEBUG aggregator." in chatty.stderr and " INFO aggregator." in chatty.stderr
    assert chatty.stdout.splitlines()[-1].startswith("polled 5 feeds (0 failed): 0 new")
    assert (root.handlers, root.level, Path.cwd()) == (handlers, level, cwd)
    assert dict(os.environ) == environ


# -- as a process ------------------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}


def test_python_m_aggregator_version(tmp_path: Path) -> None:
    """The entry point itself: ``python -m aggregator`` reaches ``main`` and exits with
    its status."""
    result = subprocess.run(
        [sys.executable, "-m", "aggregator", "--version"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout.strip()) == (0, f"aggregator {__version__}")
    assert result.stderr == ""
