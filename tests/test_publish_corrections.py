"""Corrections through the API and the CLI: split an item out, merge two clusters; they
are stored (method manual), shown, and kept by later polls and by `dedup rebuild`."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from aggregator.ingest.pipeline import Pipeline
from aggregator.publish.app import create_app
from tests.helpers import Cli, web_client
from tests.test_publish_demo import demo_config, demo_pipeline

pytestmark = pytest.mark.skipif(
    not hasattr(Pipeline, "split_item"), reason="Pipeline.split_item/merge_clusters not there yet"
)

TOKEN = "correct-horse"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _cluster_of(pipeline: Pipeline, item_id: int) -> int | None:
    return pipeline.storage.list_items(item_ids=[item_id])[0].cluster_id


def test_split_through_the_api_is_kept_by_polls_and_rebuilds(tmp_path: Path) -> None:
    settings, pipeline = demo_pipeline(tmp_path, token=TOKEN)
    client = web_client(create_app(pipeline.storage, settings, pipeline=pipeline))
    cluster = max(pipeline.storage.list_clusters(min_size=2), key=lambda c: c.size)
    item = next(m for m in cluster.members if not m.canonical)

    response = client.post(f"/api/items/{item.id}/split", headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["previous_cluster_id"] == cluster.id
    alone = body["cluster"]
    assert alone["size"] == 1 and alone["id"] != cluster.id
    detail = client.get(f"/api/clusters/{alone['id']}").json()
    assert detail["members"][0]["method"] == "manual"
    assert "correction" in detail["members"][0]["reason"]
    remaining = client.get(f"/api/clusters/{cluster.id}").json()
    assert remaining["size"] == cluster.size - 1

    pipeline.poll()  # the next poll of the same feeds
    assert _cluster_of(pipeline, item.id) == alone["id"]
    Pipeline(pipeline.storage, settings).rebuild()  # `aggregator dedup rebuild`
    after = pipeline.storage.get_cluster(_cluster_of(pipeline, item.id) or 0)
    assert after is not None and after.size == 1


def test_merge_through_the_api(tmp_path: Path) -> None:
    settings, pipeline = demo_pipeline(tmp_path, token=TOKEN)
    client = web_client(create_app(pipeline.storage, settings, pipeline=pipeline))
    singles = [c for c in pipeline.storage.list_clusters(min_size=1) if c.size == 1][:2]
    a, b = singles
    response = client.post(f"/api/clusters/{a.id}/merge/{b.id}", headers=AUTH)
    assert response.status_code == 200, response.text
    merged = response.json()["cluster"]
    assert merged["size"] == 2
    together = {_cluster_of(pipeline, a.members[0].id), _cluster_of(pipeline, b.members[0].id)}
    assert together == {merged["id"]}
    methods = {m["method"] for m in client.get(f"/api/clusters/{merged['id']}").json()["members"]}
    assert "manual" in methods
    Pipeline(pipeline.storage, settings).rebuild()
    assert _cluster_of(pipeline, a.members[0].id) == _cluster_of(pipeline, b.members[0].id)


def test_bad_corrections_are_clear_errors(tmp_path: Path) -> None:
    settings, pipeline = demo_pipeline(tmp_path, token=TOKEN)
    client = web_client(create_app(pipeline.storage, settings, pipeline=pipeline))
    some = pipeline.storage.list_clusters(min_size=1)[0].id
    cases = [
        ("/api/items/999999/split", 404, "no item 999999"),
        (f"/api/clusters/{some}/merge/999999", 404, "no cluster 999999"),
        (f"/api/clusters/{some}/merge/{some}", 400, "with itself"),
    ]
    for url, status, message in cases:
        response = client.post(url, headers=AUTH)
        assert response.status_code == status and message in response.json()["error"]["message"]


def test_a_write_waits_for_the_lock_the_scheduler_holds(tmp_path: Path) -> None:
    settings, pipeline = demo_pipeline(tmp_path, token=TOKEN)
    lock = threading.Lock()
    client = web_client(create_app(pipeline.storage, settings, pipeline=pipeline, write_lock=lock))
    cluster = max(pipeline.storage.list_clusters(min_size=2), key=lambda c: c.size)
    item = next(m for m in cluster.members if not m.canonical)
    statuses: list[int] = []
    with lock:  # a poll in progress
        writer = threading.Thread(
            target=lambda: statuses.append(
                client.post(f"/api/items/{item.id}/split", headers=AUTH).status_code
            )
        )
        writer.start()
        time.sleep(0.5)
        assert writer.is_alive() and _cluster_of(pipeline, item.id) == cluster.id
    writer.join(30)
    assert statuses == [200] and _cluster_of(pipeline, item.id) != cluster.id


def test_serve_mode_makes_its_own_writer(tmp_path: Path) -> None:
    settings, pipeline = demo_pipeline(tmp_path, token=TOKEN)
    client = web_client(create_app(pipeline.storage, settings))  # no pipeline: `serve`
    cluster = max(pipeline.storage.list_clusters(min_size=2), key=lambda c: c.size)
    item = next(m for m in cluster.members if not m.canonical)
    assert client.post(f"/api/items/{item.id}/split", headers=AUTH).status_code == 200
    assert _cluster_of(pipeline, item.id) != cluster.id


def test_cli_split_and_merge(tmp_path: Path, cli: Cli) -> None:
    import json

    def _cli(workdir: Path, *args: str) -> str:
        result = cli(*args, cwd=workdir)
        assert result.returncode == 0, result.stderr
        return result.stdout

    demo_config(tmp_path)
    _cli(tmp_path, "poll", "--once")
    clusters = json.loads(_cli(tmp_path, "clusters", "list", "--format", "json"))
    biggest = max(clusters, key=lambda c: c["size"])
    item = next(m for m in biggest["members"] if not m["canonical"])
    out = _cli(tmp_path, "clusters", "split", str(item["id"]))
    assert f"item {item['id']} is now alone in cluster" in out
    listed = _cli(tmp_path, "items", "list", "--format", "json", "--all")
    items = {i["id"]: i for i in json.loads(listed)}
    new_cluster = items[item["id"]]["cluster_id"]
    assert new_cluster != biggest["id"] and items[item["id"]]["method"] == "manual"

    out = _cli(tmp_path, "clusters", "merge", str(biggest["id"]), str(new_cluster))
    assert f"merged clusters {biggest['id']} and {new_cluster}" in out
    _cli(tmp_path, "dedup", "rebuild")
    shown = json.loads(_cli(tmp_path, "clusters", "show", str(biggest["id"]), "--format", "json"))[
        0
    ]
    assert shown["size"] == biggest["size"]
    assert item["id"] in {m["id"] for m in shown["members"]}

    bad = cli("clusters", "split", "999999", cwd=tmp_path)
    assert bad.returncode == 1 and "no item 999999" in bad.stderr
