"""Ingest end to end over real files and a real database: identity, re-polls, exact copies."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from aggregator.clean.text import clean_entry
from aggregator.parse.document import parse_feed
from tests.feeds import FOOTER, html, rss, story
from tests.helpers import check_consistency, clusters_by_guid, partition, pipeline_for


def _write(path: Path, title: str, items: list[dict[str, str]]) -> Path:
    path.write_bytes(rss(title, items))
    return path


def test_exact_copies_group_by_canonical_link_and_content(
    tmp_path: Path, database_url: str
) -> None:
    body = html(story(1))
    a = _write(
        tmp_path / "a.xml",
        "A",
        [
            {
                "guid": "a-1",
                "title": "Harbour story",
                "link": "https://a.example/2026/harbour",
                "html": body,
            },
            {
                "guid": "a-2",
                "title": "Other story",
                "link": "https://a.example/2026/other",
                "html": html(story(2)),
            },
        ],
    )
    b = _write(
        tmp_path / "b.xml",
        "B",
        [
            # the same article link with tracking parameters: exact once canonicalised
            {
                "guid": "b-1",
                "title": "Harbour story | B",
                "link": "https://a.example/2026/harbour?utm_source=rss&utm_medium=feed&fbclid=x1",
                "html": "<p>Different wrapper text entirely for the link test only.</p>",
            },
            # the same text under another link and id
            {
                "guid": "b-2",
                "title": "HARBOUR STORY",
                "link": "https://b.example/harbour-copy",
                "html": body.replace("<p>", "<div class='entry'><p>").replace("</p>", "</p></div>"),
            },
        ],
    )
    pipeline = pipeline_for(database_url, [a, b])
    pipeline.poll()
    clusters = clusters_by_guid(pipeline)
    assert clusters["a-1"] == clusters["b-1"] == clusters["b-2"]
    assert clusters["a-2"] != clusters["a-1"]
    methods = {i.guid: i.method for i in pipeline.storage.list_items()}
    assert methods["b-1"] == "url"
    assert methods["b-2"] in ("content-hash", "url")
    check_consistency(pipeline)


def test_repolling_never_duplicates_and_edits_update_the_row(
    tmp_path: Path, sqlite_url: str
) -> None:
    items = [
        {
            "guid": f"g{i}",
            "title": f"T{i}",
            "link": f"https://a.example/{i}",
            "html": html(story(10 + i)),
        }
        for i in range(3)
    ]
    feed = _write(tmp_path / "a.xml", "A", items)
    pipeline = pipeline_for(sqlite_url, [feed])
    assert [o.new for o in pipeline.poll()] == [3]
    assert [(o.new, o.updated) for o in pipeline.poll()] == [(0, 0)]
    items[1] = {**items[1], "title": "T1 (corrected)", "html": html(story(99))}
    _write(feed, "A", items)
    assert [(o.new, o.updated) for o in pipeline.poll()] == [(0, 1)]
    stored = pipeline.storage.list_items(with_content=True)
    assert len(stored) == 3
    edited = next(i for i in stored if i.guid == "g1")
    assert edited.title == "T1 (corrected)" and story(99)[0] in edited.text
    check_consistency(pipeline)


def test_identity_falls_back_from_guid_to_link_to_content_hash(tmp_path: Path) -> None:
    doc = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><guid>id-1</guid><link>https://x.example/1</link><title>a</title></item>"
        b"<item><link>https://x.example/2?utm_source=rss</link><title>b</title></item>"
        b"<item><title>c</title><description>only words</description></item>"
        b"</channel></rss>"
    )
    entries = [clean_entry(e) for e in parse_feed("f", doc).entries]
    assert entries[0].entry_id == "id-1"
    assert entries[1].entry_id == "https://x.example/2?utm_source=rss"
    assert entries[1].canonical_link == "https://x.example/2"
    assert entries[2].entry_id.startswith("sha1:")
    again = [clean_entry(e) for e in parse_feed("f", doc).entries]
    assert [e.entry_id for e in again] == [e.entry_id for e in entries]


def test_items_stored_but_not_decided_are_decided_at_start(tmp_path: Path, sqlite_url: str) -> None:
    """What a kill -9 between the two commits leaves behind is repaired at the next start."""
    body = html(story(5), FOOTER)
    a = _write(
        tmp_path / "a.xml",
        "A",
        [{"guid": "a", "title": "x", "link": "https://a.example/x", "html": body}],
    )
    b = _write(
        tmp_path / "b.xml",
        "B",
        [{"guid": "b", "title": "x", "link": "https://b.example/x", "html": body}],
    )
    pipeline = pipeline_for(sqlite_url, [a, b])
    feed_ids = {f.url: f.id for f in pipeline.storage.list_feeds()}
    for path in (a, b):
        parsed = parse_feed(str(path), path.read_bytes())
        pipeline.storage.save_items(feed_ids[str(path)], [clean_entry(e) for e in parsed.entries])
    assert all(i.cluster_id is None for i in pipeline.storage.list_items())
    restarted = pipeline_for(sqlite_url, [a, b])
    clusters = clusters_by_guid(restarted)
    assert clusters["a"] is not None and clusters["a"] == clusters["b"]
    check_consistency(restarted)


def test_a_broken_feed_is_reported_and_the_rest_is_ingested(
    tmp_path: Path, sqlite_url: str
) -> None:
    good = _write(
        tmp_path / "good.xml",
        "G",
        [{"guid": "g", "title": "t", "link": "https://g.example/1", "html": html(story(3))}],
    )
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<html><body>not a feed</body></html>")
    missing = tmp_path / "missing.xml"
    pipeline = pipeline_for(sqlite_url, [broken, good, missing])
    outcomes = {Path(o.feed_url).name: o for o in pipeline.poll()}
    assert outcomes["good.xml"].status == "ok" and outcomes["good.xml"].new == 1
    assert outcomes["broken.xml"].status == "error"
    assert outcomes["missing.xml"].status == "error"
    assert "not found" in (outcomes["missing.xml"].error or "")
    feeds = {Path(f.url).name: f for f in pipeline.storage.list_feeds()}
    assert feeds["broken.xml"].error_count == 1 and feeds["broken.xml"].last_error
    assert feeds["good.xml"].error_count == 0


def test_fingerprints_from_a_child_process_give_the_same_clusters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``polling.fingerprint_worker``: a batch of ≥ 500 new items is fingerprinted partly in a
    child process; the clusters are those the writer alone makes."""
    from aggregator.config import settings_from_mapping
    from aggregator.ingest.pipeline import FINGERPRINT_CHILD_MIN_ITEMS, Pipeline
    from aggregator.storage import Storage

    feeds = []
    for f in range(6):  # 6 feeds × 110 items; every story is carried by two feeds
        items = [
            {
                "title": f"Story {n}",
                "link": f"https://site{f}.example/{n}",
                "guid": f"{f}-{n}",
                "html": html(story(1000 + n + 110 * (f // 2)), footer=FOOTER if f % 2 else ""),
            }
            for n in range(110)
        ]
        path = tmp_path / f"feed{f}.xml"
        path.write_bytes(rss(f"Feed {f}", items))
        feeds.append(path)
    assert FINGERPRINT_CHILD_MIN_ITEMS <= 6 * 110
    partitions, children = [], []
    for on in (False, True):
        database = f"sqlite:///{tmp_path}/fp-{on}.db"
        settings = settings_from_mapping(
            {
                "database": database,
                "feeds": [{"url": str(p)} for p in feeds],
                "polling": {"worker_processes": 1, "fingerprint_worker": on},
            },
            None,
        )
        pipeline = Pipeline(Storage(database), settings)
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="aggregator.ingest.child"):
            pipeline.poll()
        children.append(sum("event=worker-started" in m for m in caplog.messages))
        check_consistency(pipeline)
        partitions.append(partition(pipeline))
    assert children == [1, 2]  # the reader; the reader, then the fingerprinter
    assert partitions[0] == partitions[1]
    assert sum(1 for group in partitions[0] if len(group) == 2) == 3 * 110


def test_a_decision_that_fails_halfway_is_made_again_from_the_database(tmp_path: Path) -> None:
    """A read of stored fingerprints (or the write of a decision) can fail in the middle
    of a decision: that poll reports the error, and the next starts again from the
    database, where the items wait undecided; nothing is lost or decided twice."""
    from aggregator.config import settings_from_mapping
    from aggregator.errors import StorageError
    from aggregator.ingest.pipeline import Pipeline
    from aggregator.storage import Storage

    class FlakyStorage(Storage):
        """A database that fails the next read of stored fingerprints, once."""

        fail_next = False

        def fingerprint_blobs(self, item_ids, scheme):  # type: ignore[no-untyped-def]
            if self.fail_next:
                self.fail_next = False
                raise StorageError("storage: read stored fingerprints: database is locked")
            return super().fingerprint_blobs(item_ids, scheme)

    first = _write(
        tmp_path / "a.xml",
        "A",
        [
            {
                "title": f"A {n}",
                "link": f"https://a.example/{n}",
                "guid": f"a{n}",
                "html": html(story(500 + n)),
            }
            for n in range(3)
        ],
    )
    # Copies of the three stories in another feed: verifying them reads the stored ones.
    second = _write(
        tmp_path / "b.xml",
        "B",
        [
            {
                "title": f"B {n}",
                "link": f"https://b.example/{n}",
                "guid": f"b{n}",
                "html": html(story(500 + n)[1:], footer=FOOTER),
            }
            for n in range(3)
        ],
    )
    database = f"sqlite:///{tmp_path}/flaky.db"
    storage = FlakyStorage(database)
    # Each gives the lease back after each operation, as a command would: the second
    # takes it (and loads the engine from the database) when it starts.
    pipeline = Pipeline(
        storage,
        settings_from_mapping({"database": database, "feeds": [{"url": str(first)}]}, None),
        keep_lease=False,
    )
    pipeline.poll()
    pipeline = Pipeline(
        storage,
        settings_from_mapping(
            {"database": database, "feeds": [{"url": str(first)}, {"url": str(second)}]}, None
        ),
        keep_lease=False,
    )
    pipeline.start()  # the engine holds feed A
    storage.fail_next = True
    with pytest.raises(StorageError, match="database is locked"):
        pipeline.poll()
    assert storage.fail_next is False  # the failure did happen, inside the decision
    pipeline.poll()  # again: the engine is rebuilt from the database first
    check_consistency(pipeline)
    groups = partition(pipeline)
    assert groups == {frozenset({f"a{n}", f"b{n}"}) for n in range(3)}
    assert len(pipeline.storage.list_items()) == 6


def test_a_block_learned_is_taken_out_of_its_carriers_once_even_across_a_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A footer becomes boilerplate with its feed's third item: the two items decided
    before carry it in their fingerprints, and are decided again without it.  That task is
    stored with the evidence that learns the block, so a decision that fails (a crash)
    leaves it to the next decider; and a restart with nothing pending decides nothing
    again (it used to re-decide every item that carries any learned block)."""
    from aggregator.config import settings_from_mapping
    from aggregator.errors import StorageError
    from aggregator.ingest.pipeline import Pipeline
    from aggregator.storage import Storage

    class FailingDecisions(Storage):
        """A database that fails the next write of a decision, once."""

        fail_next = False

        def apply_cluster_changes(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            if self.fail_next:
                self.fail_next = False
                raise StorageError("storage: save decisions: disk I/O error")
            return super().apply_cluster_changes(*args, **kwargs)

    footer = "<p>Follow our other networks here: the daily watch</p>"

    def feed(count: int) -> Path:
        items = [
            {
                "title": f"A {n}",
                "link": f"https://a.example/{n}",
                "guid": f"a{n}",
                "html": html(story(700 + n), footer=footer),
            }
            for n in range(count)
        ]
        return _write(tmp_path / "a.xml", "A", items)

    database = f"sqlite:///{tmp_path}/relearn.db"
    storage = FailingDecisions(database)

    def pipeline() -> Pipeline:
        settings = settings_from_mapping(
            {"database": database, "feeds": [{"url": str(tmp_path / "a.xml")}]}, None
        )
        made = Pipeline(storage, settings, keep_lease=False)
        made.start()
        return made

    def refingerprinted() -> list[str]:
        return [r.getMessage() for r in caplog.records if "reason=boilerplate-learned" in r.msg]

    feed(2)
    pipeline().poll()  # two items: the footer is not boilerplate yet
    assert not storage.relearn_keys()
    feed(3)
    storage.fail_next = True
    caplog.set_level(logging.INFO, logger="aggregator.ingest")
    with pytest.raises(StorageError, match="disk I/O error"):
        pipeline().poll()  # the third item teaches the footer; its decision fails
    assert len(storage.relearn_keys() or ()) == 1  # stored with the evidence
    caplog.clear()
    restarted = pipeline()  # a new decider: the task is still there
    restarted.poll()
    assert [m.split("items=")[1] for m in refingerprinted()] == ["2"]
    assert storage.relearn_keys() == set()
    check_consistency(restarted)
    assert len({i.cluster_id for i in restarted.storage.list_items()}) == 3
    caplog.clear()
    pipeline().poll()  # nothing pending: nothing decided again
    assert refingerprinted() == []


def test_a_feed_kept_whole_joins_no_other_and_explain_says_why(tmp_path: Path) -> None:
    """``dedup: false`` on a feed: its copies of another feed's stories stay stories of
    their own (in every output), the other feed's copies still collapse, and ``explain``
    names the setting instead of a similarity."""
    from aggregator.config import settings_from_mapping
    from aggregator.ingest.explain import explain
    from aggregator.ingest.pipeline import Pipeline
    from aggregator.ingest.state import dedup_params, load_boilerplate
    from aggregator.storage import Storage

    def feed(name: str, start: int = 0) -> Path:
        items = [
            {
                "title": f"{name} {n}",
                "link": f"https://{name}.example/{n}",
                "guid": f"{name}{n}",
                "html": html(story(900 + n)),
            }
            for n in range(start, 3)
        ]
        return _write(tmp_path / f"{name}.xml", name, items)

    paths = {"a": feed("a"), "b": feed("b"), "whole": feed("whole")}
    database = f"sqlite:///{tmp_path}/whole.db"
    settings = settings_from_mapping(
        {
            "database": database,
            "feeds": [
                {"url": str(paths["a"])},
                {"url": str(paths["b"])},
                {"url": str(paths["whole"]), "dedup": False},
            ],
        },
        None,
    )
    assert [f.dedup for f in settings.feeds] == [True, True, False]
    pipeline = Pipeline(Storage(database), settings, keep_lease=False)
    pipeline.start()
    pipeline.poll()
    check_consistency(pipeline)
    assert partition(pipeline) == {frozenset({f"a{n}", f"b{n}"}) for n in range(3)} | {
        frozenset({f"whole{n}"}) for n in range(3)
    }
    ids = {i.guid: i.id for i in pipeline.storage.list_items()}
    storage = pipeline.storage
    verdict = explain(
        storage, load_boilerplate(storage), dedup_params(settings.dedup), [ids["a0"], ids["whole0"]]
    )
    assert verdict.comparison is not None and verdict.comparison.method is None
    assert verdict.comparison.reason.startswith("kept whole: a feed configured with dedup: false")
    assert verdict.same_cluster is False
    same = explain(
        storage, load_boilerplate(storage), dedup_params(settings.dedup), [ids["a0"], ids["b0"]]
    )
    assert same.comparison is not None and same.comparison.method is not None
