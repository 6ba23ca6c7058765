"""``clusters explain``: the evidence behind a decision, as plain data."""

from __future__ import annotations

from typing import Any

from aggregator.clean.boilerplate import NETWORK_LEARN_AT
from aggregator.dedup.engine import compare, is_lead
from aggregator.errors import AggregatorError
from aggregator.fingerprint.signature import fingerprint_blocks
from aggregator.ingest.pipeline import Pipeline
from aggregator.publish.views import item_dict
from aggregator.storage import Storage


def explain(pipeline: Pipeline, item_ids: list[int]) -> dict[str, Any]:
    """How one item was placed, or how two items compare and what the rules conclude."""
    storage = pipeline.storage
    storage.upgrade()
    pipeline.boilerplate.load(storage.block_counts(samples_from=NETWORK_LEARN_AT))
    views = {v.id: v for v in storage.list_items(item_ids=item_ids, with_content=True)}
    missing = [i for i in item_ids if i not in views]
    if missing:
        raise AggregatorError(f"no item {', '.join(map(str, missing))}")
    report: dict[str, Any] = {"items": []}
    prints = []
    for item_id in item_ids:
        view = views[item_id]
        filtered = pipeline.boilerplate.filter(view.text)
        fp = fingerprint_blocks(filtered.kept)
        prints.append(fp)
        entry = item_dict(view)
        entry.update({
            "matched_item_id": _matched(storage, item_id),
            "words": fp.word_count,
            "shingles": fp.size,
            "boilerplate_removed": list(filtered.removed),
        })
        report["items"].append(entry)
    if len(prints) == 2:
        a, b = prints
        params = pipeline.engine.params
        if a.size == 0 or b.size == 0:
            report["comparison"] = {"rule": "too little text to compare: exact keys only"}
        else:
            m = compare(a, b)
            lead = is_lead(m, params.containment)
            if a.content_key and a.content_key == b.content_key:
                rule = "content-hash: identical text after boilerplate removal"
            elif m.jaccard >= params.threshold:
                rule = f"minhash: Jaccard {m.jaccard:.3f} ≥ threshold {params.threshold}"
            elif lead:
                rule = (f"containment: the shorter text is the lead of the longer one "
                        f"({m.containment:.3f} ≥ {params.containment})")
            else:
                rule = (f"different stories: Jaccard {m.jaccard:.3f} < {params.threshold} and "
                        f"not a lead (containment {m.containment:.3f}, "
                        f"lead {m.lead_containment:.3f})")
            report["comparison"] = {
                "jaccard": round(m.jaccard, 4), "containment": round(m.containment, 4),
                "lead_containment": round(m.lead_containment, 4), "shorter_shingles": m.shorter,
                "longer_shingles": m.longer, "rule": rule,
                "same_cluster": views[item_ids[0]].cluster_id == views[item_ids[1]].cluster_id,
            }
    return report


def _matched(storage: Storage, item_id: int) -> int | None:
    infos = storage.indexed_items_by_id([item_id])
    return infos[0].matched_item_id if infos else None
