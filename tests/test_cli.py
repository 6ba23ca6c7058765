"""The CLI as a user runs it: a subprocess over a copy of the bundled seeds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS


def _run(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    result = subprocess.run([sys.executable, "-m", "aggregator", *args], cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}: {result.stderr}")
    return result


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A copy of the repo's config.yaml and seeds/, as a newcomer's checkout has them."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


def _pairs(groups: dict[object, list[tuple[str, str]]]) -> set[frozenset[tuple[str, str]]]:
    return {frozenset(p) for members in groups.values() for p in combinations(members, 2)}


def test_poll_the_seeds_and_inspect(demo: Path) -> None:
    poll = _run(demo, "poll", "--once")
    lines = poll.stdout.strip().splitlines()
    assert len(lines) == 6 and lines[-1].startswith("polled 5 feeds (0 failed): 81 new")
    assert (demo / "aggregator.db").exists()

    items = json.loads(_run(demo, "items", "list", "--format", "json").stdout)
    assert len(items) == 81
    for field in ("id", "feed_url", "guid", "link", "title", "published", "cluster_id",
                  "canonical"):
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

    clusters = json.loads(_run(demo, "clusters", "list", "--format", "json").stdout)
    assert clusters and all(c["size"] >= 2 for c in clusters)
    assert any(c["feed_count"] >= 2 for c in clusters)
    biggest = max(clusters, key=lambda c: c["size"])
    assert biggest["canonical_item"]["title"].startswith("US and Japan Forge AI Alliance")
    for member in biggest["members"]:
        assert {"feed_url", "guid", "title", "method", "score"} <= set(member)
    shown = _run(demo, "clusters", "show", str(biggest["id"]))
    assert "US and Japan Forge AI Alliance" in shown.stdout

    # Polling again adds nothing and changes no cluster.
    again = _run(demo, "poll", "--once").stdout.strip().splitlines()[-1]
    assert "0 new, 0 updated; 81 items" in again
    items_again = json.loads(_run(demo, "items", "list", "--format", "json").stdout)
    assert {(i["guid"], i["cluster_id"]) for i in items_again} == \
        {(i["guid"], i["cluster_id"]) for i in items}

    feeds = json.loads(_run(demo, "feeds", "list", "--format", "json").stdout)
    assert len(feeds) == 5
    assert all(f["last_error"] is None and f["error_count"] == 0 and f["last_success"]
               for f in feeds)

    learned = json.loads(_run(demo, "boilerplate", "list", "--format", "json").stdout)
    assert any(b["text"] == "follow our other news and article networks here:" for b in learned)
    assert all(b["text"] for b in learned)  # a learned block keeps its text across restarts

    a, b = biggest["members"][0]["id"], biggest["members"][1]["id"]
    explained = json.loads(_run(demo, "clusters", "explain", str(a), str(b),
                                "--format", "json").stdout)[0]
    assert explained["comparison"]["same_cluster"] is True
    assert explained["items"][0]["boilerplate_removed"]
    rebuild = _run(demo, "dedup", "rebuild", "--dry-run").stdout
    assert "would move 0 items" in rebuild


def test_feeds_add_and_remove(demo: Path) -> None:
    extra = demo / "extra.xml"
    shutil.copy(SEEDS / "daily-watch-news.xml", extra)
    assert "added" in _run(demo, "feeds", "add", "extra.xml", "--name", "Extra").stdout
    assert "already subscribed" in _run(demo, "feeds", "add", "extra.xml").stdout
    feeds = json.loads(_run(demo, "feeds", "list", "--format", "json").stdout)
    assert any(f["url"] == str(extra) and f["name"] == "Extra" for f in feeds)
    _run(demo, "poll", "--once")
    removed = _run(demo, "feeds", "remove", "extra.xml")
    assert "removed" in removed.stdout and "20 items" in removed.stdout
    feeds = json.loads(_run(demo, "feeds", "list", "--format", "json").stdout)
    assert all(f["url"] != str(extra) for f in feeds)
    missing = _run(demo, "feeds", "remove", "extra.xml", check=False)
    assert missing.returncode == 1 and "no feed" in missing.stderr


def test_a_poll_with_broken_feeds_exits_zero_and_records_errors(demo: Path) -> None:
    (demo / "broken.xml").write_text("this is not a feed")
    config = (demo / "config.yaml").read_text()
    config += "  - url: broken.xml\n  - url: http://127.0.0.1:9/refused.xml\n"
    (demo / "config.yaml").write_text(config)
    poll = _run(demo, "poll", "--once")
    assert "polled 7 feeds (2 failed)" in poll.stdout
    feeds = {Path(f["url"]).name: f for f in
             json.loads(_run(demo, "feeds", "list", "--format", "json").stdout)}
    assert feeds["broken.xml"]["error_count"] == 1 and feeds["broken.xml"]["last_error"]
    assert feeds["refused.xml"]["error_count"] == 1


def test_database_url_from_the_environment(demo: Path) -> None:
    sqlite_url = f"sqlite:///{demo / 'elsewhere.db'}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")},
           "AGGREGATOR_DATABASE_URL": sqlite_url}
    result = subprocess.run([sys.executable, "-m", "aggregator", "db", "upgrade"], cwd=demo,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert Path(sqlite_url.removeprefix("sqlite:///")).exists()
    assert not (demo / "aggregator.db").exists()
