"""``dedup rebuild``: re-fingerprint and re-decide every stored item with the current
settings, in a fresh engine, and report what moves."""

from __future__ import annotations

from dataclasses import dataclass

from aggregator.dedup.engine import DedupEngine
from aggregator.dedup.rules import DedupParams
from aggregator.fingerprint import signature as fp_mod
from aggregator.ingest.decide import DECIDE_CHUNK
from aggregator.ingest.state import candidate, load_boilerplate
from aggregator.storage import Storage


@dataclass(frozen=True)
class RebuildReport:
    items: int
    moved: int
    clusters_before: int
    clusters_after: int
    moves: tuple[str, ...]


def rebuild(storage: Storage, params: DedupParams, dry_run: bool = False) -> RebuildReport:
    """Re-decide everything and store the result (unless ``dry_run``); a decider running
    elsewhere must load its state again from the database afterwards."""
    boilerplate = load_boilerplate(storage)
    boilerplate.take_fresh()
    indexed = storage.indexed_items(since=None)
    engine = DedupEngine(params, storage.max_cluster_id() + 1)
    fingerprints: list[tuple[int, str | None, bytes | None]] = []
    candidates = []
    for start in range(0, len(indexed), DECIDE_CHUNK):  # texts a chunk at a time
        chunk = indexed[start : start + DECIDE_CHUNK]
        texts = storage.item_texts([i.item_id for i in chunk])
        for info in chunk:
            _, text, title = texts[info.item_id]
            fingerprint = fp_mod.fingerprint_blocks(boilerplate.filter(text).kept, title)
            fingerprints.append(
                (info.item_id, fingerprint.content_key, fp_mod.to_bytes(fingerprint))
            )
            candidates.append(candidate(info, fingerprint))
    engine.load(candidates, (a for i in indexed if (a := i.assignment()) is not None))
    for correction in storage.corrections():
        engine.apply_correction(correction)
    before = {i.item_id: i.cluster_id for i in indexed}
    changes = engine.settle(i.item_id for i in indexed)
    moves = [
        f"item {a.item_id}: cluster {before.get(a.item_id)} → {a.cluster_id} ({a.method} {a.score})"
        for a in changes.assignments
        if before.get(a.item_id) != a.cluster_id
    ]
    after = {**before, **{a.item_id: a.cluster_id for a in changes.assignments}}
    if not dry_run:
        storage.apply_cluster_changes(changes, fingerprints=fingerprints, scheme=fp_mod.SCHEME)
        storage.drop_relearn_keys(None)  # every fingerprint is made with every learned block
    return RebuildReport(
        items=len(indexed),
        moved=len(moves),
        clusters_before=len({c for c in before.values() if c is not None}),
        clusters_after=len({c for c in after.values() if c is not None}),
        moves=tuple(moves),
    )
