"""Where the time of a cProfile run goes: by library, and the top functions."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any


def library_of(key: tuple[str, int, str]) -> str:
    """Where a cProfile entry's own time belongs: a package (feedparser by module,
    aggregator by module of its subpackages, sqlalchemy by subpackage), a stdlib module,
    or a C extension."""
    filename, _, name = key
    if filename == "~":
        match = re.search(r"of '([\w.]+?)\.\w+' objects|built-in method ([\w.]+)\.", name)
        module = next((g for g in match.groups() if g), "") if match else ""
        return f"{module or 'builtins'} (C)"
    parts = Path(filename).parts
    if "site-packages" in parts:
        rest = list(parts[parts.index("site-packages") + 1 :])
        depth = {"feedparser": 2, "sqlalchemy": 2, "aggregator": 3}.get(rest[0], 1)
        return ".".join(rest[:depth]).removesuffix(".py")
    if "aggregator" in parts:
        rest = list(parts[len(parts) - 1 - parts[::-1].index("aggregator") :])
        return ".".join(rest[:3]).removesuffix(".py")
    if any(p.startswith("python3") for p in parts):
        return "stdlib " + Path(filename).stem
    return Path(filename).stem


def print_cprofile(path: str) -> None:
    import pstats

    stats = pstats.Stats(path)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    by_library: Counter[str] = Counter()
    for key, value in raw.items():
        by_library[library_of(key)] += value[2]
    print(
        f"\ncProfile of the writer thread ({total:.1f}s of own time under the profiler, "
        "which slows Python code ~1.5-2×): own time by library"
    )
    for library, seconds in by_library.most_common(18):
        print(f"  {library:<34} {seconds:7.2f}s {seconds / total:6.1%}")
    print("top functions by own time:")
    top = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:18]
    for (filename, line, name), value in top:
        where = f"{Path(filename).name}:{line}" if filename != "~" else ""
        print(f"  {value[2]:7.2f}s {value[1]:>9} calls  {name[:60]} {where}")
