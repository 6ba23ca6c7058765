"""User corrections (split, merge) are stored and respected by later decisions and rebuilds."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.errors import AggregatorError
from tests.feeds import FOOTER, html, rss, story
from tests.helpers import check_consistency, clusters_by_guid, pipeline_for


def _feed(path: Path, items: list[tuple[str, str]]) -> Path:
    path.write_bytes(
        rss(
            path.stem,
            [
                {"guid": g, "title": g, "link": f"https://{path.stem}.example/{g}", "html": h}
                for g, h in items
            ],
        )
    )
    return path


def _network(tmp_path: Path) -> list[Path]:
    return [
        _feed(tmp_path / "a.xml", [("a1", html(story(1), FOOTER)), ("a2", html(story(2), FOOTER))]),
        _feed(
            tmp_path / "b.xml", [("b1", html(story(1)[1:], FOOTER)), ("b2", html(story(3), FOOTER))]
        ),
    ]


def test_split_keeps_the_item_alone_across_polls_restarts_and_rebuilds(
    tmp_path: Path, database_url: str
) -> None:
    feeds = _network(tmp_path)
    pipeline = pipeline_for(database_url, feeds)
    pipeline.poll()
    assert clusters_by_guid(pipeline)["a1"] == clusters_by_guid(pipeline)["b1"]
    b1 = next(i.id for i in pipeline.storage.list_items() if i.guid == "b1")
    pipeline.split_item(b1)
    clusters = clusters_by_guid(pipeline)
    assert clusters["a1"] != clusters["b1"]
    item = next(i for i in pipeline.storage.list_items() if i.guid == "b1")
    assert item.method == "manual"
    check_consistency(pipeline)
    # a third copy arriving later joins a1, never the split item
    feeds.append(_feed(tmp_path / "c.xml", [("c1", html(story(1), "<p>Sponsored by X</p>"))]))
    restarted = pipeline_for(database_url, feeds)
    restarted.poll()
    clusters = clusters_by_guid(restarted)
    assert clusters["c1"] == clusters["a1"] != clusters["b1"]
    assert restarted.rebuild(dry_run=True).moved == 0
    check_consistency(restarted)


def test_merge_joins_two_clusters_and_survives_rebuild(tmp_path: Path, sqlite_url: str) -> None:
    pipeline = pipeline_for(sqlite_url, _network(tmp_path))
    pipeline.poll()
    clusters = clusters_by_guid(pipeline)
    first, second = clusters["a2"], clusters["b2"]
    assert first is not None and second is not None and first != second
    pipeline.merge_clusters(first, second)
    clusters = clusters_by_guid(pipeline)
    assert clusters["a2"] == clusters["b2"] == min(first, second)
    methods = {i.guid: i.method for i in pipeline.storage.list_items()}
    assert methods["a2"] == methods["b2"] == "manual"
    report = pipeline.rebuild(dry_run=False)
    assert report.moved == 0
    assert clusters_by_guid(pipeline)["a2"] == clusters_by_guid(pipeline)["b2"]
    check_consistency(pipeline)


def test_a_correction_made_by_another_process_is_picked_up(tmp_path: Path, sqlite_url: str) -> None:
    feeds = _network(tmp_path)
    daemon = pipeline_for(sqlite_url, feeds)
    daemon.poll()
    cli = pipeline_for(sqlite_url, feeds)
    b1 = next(i.id for i in cli.storage.list_items() if i.guid == "b1")
    cli.split_item(b1)
    daemon.poll()  # the daemon replays the correction before deciding anything new
    assert daemon.engine.cluster_of(b1) == clusters_by_guid(daemon)["b1"]
    assert clusters_by_guid(daemon)["b1"] != clusters_by_guid(daemon)["a1"]


def test_unknown_ids_are_clear_errors(tmp_path: Path, sqlite_url: str) -> None:
    pipeline = pipeline_for(sqlite_url, _network(tmp_path))
    pipeline.poll()
    with pytest.raises(AggregatorError, match="no item 999"):
        pipeline.split_item(999)
    with pytest.raises(AggregatorError, match="no cluster 999"):
        pipeline.merge_clusters(1, 999)
