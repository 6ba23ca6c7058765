"""datasketch's MinHash without the rest of datasketch.

``import datasketch`` runs the package's ``__init__``, which imports every sketch it has —
among them the LSH classes, which pull in scipy: about 60 MB of memory and half a second
of start-up that a ``poll --once`` pays for nothing (we use ``MinHash`` alone; our index is
:mod:`aggregator.dedup.lshindex`).  When nothing has imported datasketch yet, the package is
registered without running its ``__init__`` and ``datasketch.minhash`` is imported from
it: the same code, the same values.  A later ``import datasketch`` elsewhere in the
process (a benchmark comparing with ``MinHashLSH``) still works: it imports its
submodules by their full names.
"""

from __future__ import annotations

import importlib.util
import sys

if "datasketch" not in sys.modules:
    _spec = importlib.util.find_spec("datasketch")
    if _spec is not None and _spec.submodule_search_locations is not None:
        _package = importlib.util.module_from_spec(_spec)  # registered, __init__ not run
        sys.modules["datasketch"] = _package

from datasketch.minhash import MinHash  # noqa: E402

__all__ = ["MinHash"]
