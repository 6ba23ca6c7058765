"""The JSON API over the polled demo: pages, filters, a cluster's evidence, feed health,
JSON errors, and schemathesis against the OpenAPI description (no 500s)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from starlette.testclient import TestClient

from aggregator.ingest.pipeline import Pipeline
from aggregator.publish.app import create_app
from aggregator.publish.openapi import SPEC
from tests.helpers import web_client
from tests.test_publish_demo import demo_pipeline, running_server


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pipeline, TestClient]]:
    config, pipeline = demo_pipeline(tmp_path_factory.mktemp("api"))
    with web_client(create_app(pipeline.storage, config)) as client:
        yield pipeline, client


def _all_pages(client: TestClient, url: str, key: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        body = client.get(next_url).json()
        out.extend(body[key])
        next_url = body["next"]
    return out


def test_items_are_paginated_newest_first(demo: tuple[Pipeline, TestClient]) -> None:
    pipeline, client = demo
    first = client.get("/api/items?limit=10").json()
    assert first["total"] == pipeline.storage.counts()["items"] == 81
    assert len(first["items"]) == 10 and first["next"].endswith("offset=10")
    every = _all_pages(client, "/api/items?limit=30", "items")
    assert [i["id"] for i in every] == [i.id for i in pipeline.storage.list_items()]
    times = [i["published"] for i in every]
    assert times == sorted(times, reverse=True)
    assert {"feed", "cluster_id", "canonical", "method", "score"} <= set(every[0])


def test_items_filter_by_feed_group_cluster_and_time(demo: tuple[Pipeline, TestClient]) -> None:
    pipeline, client = demo
    storage = pipeline.storage
    feeds = storage.list_feeds()
    feed = feeds[0]
    by_feed = client.get(f"/api/items?feed={feed.id}&limit=500").json()
    assert by_feed["total"] == feed.item_count
    assert all(i["feed"]["id"] == feed.id for i in by_feed["items"])
    group = client.get("/api/items?group=daily-something&limit=500").json()
    assert group["total"] == sum(f.item_count for f in feeds if f.group == "daily-something")
    cluster = max(storage.list_clusters(min_size=2), key=lambda c: c.size)
    members = client.get(f"/api/items?cluster={cluster.id}").json()
    assert {i["id"] for i in members["items"]} == {m.id for m in cluster.members}
    window = client.get("/api/items?since=2026-11-20&until=2026-11-21T00:00:00Z&limit=500")
    assert window.json()["items"]
    assert all("2026-11-20T" in i["published"] for i in window.json()["items"])


def test_clusters_list_filters_and_pages(demo: tuple[Pipeline, TestClient]) -> None:
    pipeline, client = demo
    storage = pipeline.storage
    multi = _all_pages(client, "/api/clusters?min_size=2&limit=5", "clusters")
    assert {c["id"] for c in multi} == {c.id for c in storage.list_clusters(min_size=2)}
    assert len(multi) == 16  # the stories of seeds/truth.json with more than one item
    for summary in multi:
        assert summary["size"] >= 2 and len(summary["sources"]) == summary["feed_count"]
        assert summary["canonical_item"]["feed"]["name"] in summary["sources"]
        assert summary["links"]["page"] == f"/clusters/{summary['id']}"
    everything = client.get("/api/clusters?limit=500").json()
    assert everything["total"] == storage.counts()["clusters"] and everything["next"] is None
    feed = storage.list_feeds()[3]
    with_feed = client.get(f"/api/clusters?feed={feed.id}&limit=500").json()["clusters"]
    assert with_feed and all(feed.name in c["sources"] for c in with_feed)
    empty = client.get("/api/clusters?since=2026-11-25&until=2026-11-24").json()
    assert empty["total"] == 0 and empty["clusters"] == []


def test_a_cluster_explains_its_members_and_its_canonical(
    demo: tuple[Pipeline, TestClient],
) -> None:
    pipeline, client = demo
    storage = pipeline.storage
    cluster = max(storage.list_clusters(min_size=2), key=lambda c: c.size)
    body = client.get(f"/api/clusters/{cluster.id}").json()
    assert body["id"] == cluster.id and len(body["members"]) == cluster.size
    members = {m["id"]: m for m in body["members"]}
    for member in cluster.members:
        shown = members[member.id]
        assert shown["feed"]["url"] == member.feed_url and shown["link"] == member.link
        assert shown["title"] == member.title and shown["method"] == member.method
        assert shown["score"] == member.score and shown["canonical"] == member.canonical
        assert shown["reason"]
        if member.method in ("minhash", "containment", "content-hash", "url"):
            assert shown["matched_item_id"] in members
            assert f"item {shown['matched_item_id']}" in shown["reason"]
    reason = body["canonical_reason"]
    assert reason["rule"].startswith("full text before summary")
    # The demo's biggest story: its canonical copy is from the priority-1 feed.
    canonical = members[body["canonical_item_id"]]
    assert canonical["feed"]["priority"] == 1 and reason["decided_by"] == "priority"
    assert f"Item {canonical['id']}" in reason["explanation"]


def test_feeds_report_their_health(demo: tuple[Pipeline, TestClient]) -> None:
    pipeline, client = demo
    feeds = client.get("/api/feeds").json()["feeds"]
    assert len(feeds) == 5 and {f["status"] for f in feeds} == {"ok"}
    assert sum(f["items"] for f in feeds) == 81
    assert all(f["last_success"] and f["error_count"] == 0 for f in feeds)


@pytest.mark.parametrize(
    ("url", "status", "needle"),
    [
        ("/api/clusters/999999", 404, "no cluster 999999"),
        ("/api/clusters/99999999999", 404, "no cluster"),
        ("/api/clusters/abc", 404, "nothing at /api/clusters/abc"),
        ("/api/nothing", 404, "nothing at"),
        ("/api/items?limit=100000", 400, "'limit'"),
        ("/api/items?offset=-1", 400, "'offset'"),
        ("/api/clusters?since=not-a-date", 400, "'since'"),
        ("/api/items?cluster=0", 400, "'cluster'"),
        ("/api/clusters?group=%00", 400, "'group'"),
    ],
)
def test_errors_are_json_with_a_clear_message(
    demo: tuple[Pipeline, TestClient], url: str, status: int, needle: str
) -> None:
    _, client = demo
    response = client.get(url)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["status"] == status and needle in error["message"]


def test_wrong_method_is_a_json_405(demo: tuple[Pipeline, TestClient]) -> None:
    _, client = demo
    response = client.delete("/api/clusters")
    assert response.status_code == 405 and response.json()["error"]["status"] == 405


def test_openapi_document_is_served(demo: tuple[Pipeline, TestClient]) -> None:
    _, client = demo
    document = client.get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.") and set(document["paths"]) == set(SPEC["paths"])
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/api/clusters/{cluster_id}" in docs.text


# -- schemathesis: property-based requests from the OpenAPI description --------------------
# The description we serve, loaded as a user of the API would; requests go to a real
# uvicorn server over the demo, with the token, so the write endpoints run too.

schema = schemathesis.openapi.from_dict(SPEC)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config, pipeline = demo_pipeline(tmp_path_factory.mktemp("schemathesis"), token="t0k3n")
    with running_server(config, pipeline.storage) as base:
        yield base


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_never_fails_with_a_500(case: Any, server: str) -> None:
    case.call_and_validate(
        base_url=server, checks=[not_a_server_error], headers={"Authorization": "Bearer t0k3n"}
    )
