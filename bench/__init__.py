"""Benchmarks that print their figures (README.md, "Benchmarks").

The benchmarks run as ``python bench/NAME.py …`` or ``python -m bench.NAME …``:
:mod:`bench.quality`, :mod:`bench.dedup_cost`, :mod:`bench.shingle_margin`,
:mod:`bench.parse_agreement`, :mod:`bench.poll`, :mod:`bench.soak` and :mod:`bench.ingest`.

The other modules are what they share, with each other and with ``tests/test_bench.py``:

- :mod:`bench.corpus` writes the generated syndicated corpus (feeds of articles, about
  20 % of them copies of another feed's story, network footers) with its ``truth.json``;
  :mod:`bench.words` makes its text and :mod:`bench.feedxml` its RSS and Atom documents;
- :mod:`bench.loopback` serves feeds on 127.0.0.1: a folder of files, or generated feeds
  that change from one cycle to the next (ETag, 304) on many loopback addresses;
- :mod:`bench.measure` (wall time and peak memory of a whole process and its children),
  :mod:`bench.contenders` (the runs ``bench/ingest.py`` compares), :mod:`bench.stage_profile`
  (our pipeline's time per stage, from its stage-timing hook) and :mod:`bench.cprofile_report`.

The benchmarks use the product's public API only: no function or method of ``aggregator``
is replaced or wrapped.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository: ``aggregator/``, ``bench/``, ``seeds/``, ``tests/``."""
FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf", ".json")
"""The names of feed files in a corpus folder end so (``manifest.json`` and ``truth.json``
excepted)."""
