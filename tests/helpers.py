"""Run the real pipeline over feed files written into a temporary folder."""

from __future__ import annotations

from pathlib import Path

from aggregator.config import settings_from_mapping
from aggregator.ingest.pipeline import Pipeline
from aggregator.storage import Storage


def pipeline_for(database_url: str, feed_paths: list[Path], **dedup: object) -> Pipeline:
    settings = settings_from_mapping(
        {"database": database_url, "feeds": [{"url": str(p)} for p in feed_paths],
         **({"dedup": dedup} if dedup else {})}, None)
    pipeline = Pipeline(Storage(database_url), settings)
    pipeline.start()
    return pipeline


def clusters_by_guid(pipeline: Pipeline) -> dict[str, int | None]:
    return {item.guid: item.cluster_id for item in pipeline.storage.list_items()}


def partition(pipeline: Pipeline) -> set[frozenset[str]]:
    """The clustering as a set of guid sets (independent of cluster ids)."""
    groups: dict[int | None, set[str]] = {}
    for guid, cluster in clusters_by_guid(pipeline).items():
        groups.setdefault(cluster, set()).add(guid)
    return {frozenset(g) for g in groups.values()}


def check_consistency(pipeline: Pipeline) -> None:
    """Every item in exactly one cluster; every cluster's size, canonical member right."""
    items = pipeline.storage.list_items()
    assert all(item.cluster_id is not None for item in items), "an item has no cluster"
    by_cluster: dict[int, list[int]] = {}
    for item in items:
        assert item.cluster_id is not None
        by_cluster.setdefault(item.cluster_id, []).append(item.id)
    clusters = pipeline.storage.list_clusters(min_size=1)
    assert {c.id for c in clusters} == set(by_cluster), "empty or missing cluster rows"
    for cluster in clusters:
        assert cluster.size == len(by_cluster[cluster.id])
        assert cluster.canonical_item_id in by_cluster[cluster.id]
        assert sum(1 for m in cluster.members if m.canonical) == 1
