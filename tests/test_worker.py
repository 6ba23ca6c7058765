"""The child process reads documents and fingerprints texts exactly as this one does."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.errors import ParseError
from aggregator.ingest.child import ParserBug, WorkerProcess

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
XML = {"content-type": "application/xml"}


def _documents() -> list[tuple[str, bytes]]:
    return [
        (f"https://seeds.example/{p.name}", p.read_bytes())
        for p in sorted(SEEDS.iterdir())
        if p.suffix in (".xml", ".atom", ".json") and p.name != "truth.json"
    ]


def test_child_process_reads_what_the_writer_thread_reads() -> None:
    inline, child = WorkerProcess(0), WorkerProcess(1)
    try:
        futures = [(url, child.read(url, body, XML)) for url, body in _documents()]
        for (url, body), (_, future) in zip(_documents(), futures, strict=True):
            here = inline.document(url, inline.read(url, body, XML))
            there = child.document(url, future)
            assert there == here and there.items
    finally:
        child.close()
        inline.close()


def test_parse_errors_come_back_as_parse_errors() -> None:
    reader = WorkerProcess(1)
    try:
        with pytest.raises(ParseError, match="not a feed"):
            reader.document(
                "https://x.example/",
                reader.read("https://x.example/", b"<html><body>hello</body></html>", XML),
            )
    finally:
        reader.close()


def test_a_hung_or_dead_child_fails_that_document_and_is_replaced() -> None:
    url, body = _documents()[0]
    reader = WorkerProcess(1, deadline=0.001)  # killed before it can even start up
    try:
        with pytest.raises(ParserBug, match="worker process"):
            reader.document(url, reader.read(url, body, XML))
        reader.deadline = 60
        assert reader.document(url, reader.read(url, body, XML)).items  # a new child
        assert reader._child is not None
        reader._child.kill()  # dies between documents: the next one starts another
        reader._child.wait()
        assert reader.document(url, reader.read(url, body, XML)).items
    finally:
        reader.close()
    assert reader._child is None


def test_child_fingerprints_equal_the_writer_threads() -> None:
    import numpy as np

    from aggregator.ingest.child import fingerprint_texts

    url, body = _documents()[0]
    inline = WorkerProcess(0)
    texts = [item.text for item in inline.document(url, inline.read(url, body, XML)).items]
    learned: frozenset[str] = frozenset()
    child = WorkerProcess(1)
    try:
        there = child.fingerprints(
            len(texts), learned, child.fingerprint(texts, learned), lambda: texts
        )
    finally:
        child.close()
    here = fingerprint_texts(texts, learned)
    assert len(there) == len(here) == len(texts)
    for a, b in zip(there, here, strict=True):
        assert a.content_key == b.content_key and a.size == b.size
        assert np.array_equal(a.hashes, b.hashes)
        assert (a.signature is None) == (b.signature is None)
        if a.signature is not None and b.signature is not None:
            assert np.array_equal(a.signature, b.signature)


def test_fingerprints_of_a_failed_job_are_computed_from_the_texts_read_again() -> None:
    from concurrent.futures import Future

    from aggregator.ingest.child import fingerprint_texts

    url, body = _documents()[0]
    inline = WorkerProcess(0)
    texts = [item.text for item in inline.document(url, inline.read(url, body, XML)).items]
    failed: Future[object] = Future()
    failed.set_exception(BrokenPipeError("the child died"))
    asked = []

    def read_again() -> list[str]:
        asked.append(True)
        return texts

    got = inline.fingerprints(len(texts), frozenset(), failed, read_again)
    assert asked == [True]
    assert [f.content_key for f in got] == [
        f.content_key for f in fingerprint_texts(texts, frozenset())
    ]


def _mapped(child: WorkerProcess, library: str) -> bool:
    assert child._child is not None
    return library in Path(f"/proc/{child._child.pid}/maps").read_text()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_each_child_loads_only_what_its_jobs_need() -> None:
    """A poll reads with one child and fingerprints with another: the reader never loads
    numpy, the fingerprinter never loads the XML parser."""
    import pyexpat

    url, body = _documents()[0]
    reader = WorkerProcess(1)
    try:
        reader.document(url, reader.read(url, body, XML))
        assert not _mapped(reader, "numpy")
    finally:
        reader.close()
    fingerprinter = WorkerProcess(1)
    texts = ["one two three four five six seven eight nine ten eleven twelve"] * 3
    try:
        assert (
            len(
                fingerprinter.fingerprints(
                    3, frozenset(), fingerprinter.fingerprint(texts, frozenset()), lambda: texts
                )
            )
            == 3
        )
        assert _mapped(fingerprinter, "numpy")
        if getattr(pyexpat, "__file__", "").endswith(".so"):
            assert not _mapped(fingerprinter, "pyexpat")
    finally:
        fingerprinter.close()


def test_a_child_killed_before_it_reads_its_job_fails_that_document_cleanly() -> None:
    """The deadline kills the child before it has read the job: the parent's write fails,
    and closing the pipe flushes the unread job again; either way the document fails as
    a worker failure, never as the pipe's own error.  Deadlines from none to half a
    millisecond: the kill lands before, during and after the job is written."""
    url, body = _documents()[0]
    for n in range(60):
        reader = WorkerProcess(1, deadline=0.0001 * (n % 6))
        try:
            with pytest.raises(ParserBug, match="worker process"):
                reader.document(url, reader.read(url, body, XML))
        finally:
            reader.close()
