"""Documents read in the child process are the documents read in this one."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.errors import ParseError
from aggregator.parse_worker import DocumentReader, ReaderBug

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
XML = {"content-type": "application/xml"}


def _documents() -> list[tuple[str, bytes]]:
    return [(f"https://seeds.example/{p.name}", p.read_bytes())
            for p in sorted(SEEDS.iterdir())
            if p.suffix in (".xml", ".atom", ".json") and p.name != "truth.json"]


def test_child_process_reads_what_the_writer_thread_reads() -> None:
    inline, child = DocumentReader(0), DocumentReader(1)
    try:
        futures = [(url, child.submit(url, body, XML)) for url, body in _documents()]
        for (url, body), (_, future) in zip(_documents(), futures, strict=True):
            here = inline.result(url, inline.submit(url, body, XML))
            there = child.result(url, future)
            assert there == here and there.items
    finally:
        child.close()
        inline.close()


def test_parse_errors_come_back_as_parse_errors() -> None:
    reader = DocumentReader(1)
    try:
        with pytest.raises(ParseError, match="not a feed"):
            reader.result("https://x.example/", reader.submit(
                "https://x.example/", b"<html><body>hello</body></html>", XML))
    finally:
        reader.close()


def test_a_hung_or_dead_child_fails_that_document_and_is_replaced() -> None:
    url, body = _documents()[0]
    reader = DocumentReader(1, deadline=0.001)  # killed before it can even start up
    try:
        with pytest.raises(ReaderBug, match="parser process"):
            reader.result(url, reader.submit(url, body, XML))
        reader.deadline = 60
        assert reader.result(url, reader.submit(url, body, XML)).items  # a new child
        assert reader._child is not None
        reader._child.kill()  # dies between documents: the next one starts another
        reader._child.wait()
        assert reader.result(url, reader.submit(url, body, XML)).items
    finally:
        reader.close()
    assert reader._child is None
