#!/usr/bin/env python3
"""Does the fast XML parser (``aggregator/parse/fast_xml.py``) agree with feedparser, and how often
does it take a document at all?

    .venv/bin/python bench/parse_agreement.py DIR [DIR ...] [--show 5]

Every file under each DIR (``.xml .rss .atom .rdf``, and any file whose name has no
JSON suffix) is read both ways: by ``read_plain_feed`` (when it accepts the document) and
by the feedparser path.  For each accepted document the two ``ParsedFeed`` values are
compared field by field; entry HTML is compared by its text blocks and by the link
targets in it, since feedparser re-serialises markup and we do not.  Prints how many
documents each path took, why the fast XML parser declined the others, each kind of
disagreement with examples, and the time of each path.  Exit status 1 on any
disagreement.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aggregator.clean.text import html_to_blocks
from aggregator.errors import ParseError
from aggregator.parse.document import parse_with_feedparser
from aggregator.parse.fast_xml import NeedsFeedparser, read_plain_feed
from aggregator.types import ParsedFeed

_LINK = re.compile(r"""\s(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.I)
_SAFE = ("http:", "https:", "mailto:", "ftp:")


def link_targets(markup: str) -> list[str]:
    """Absolute http(s)/mailto targets of href/src attributes, in order.

    feedparser empties a link whose scheme it distrusts (``javascript:``, or a relative
    link left relative because the base itself is relative); the fast XML parser leaves
    those to the output sanitiser, so only targets both keep are compared."""
    targets = []
    for match in _LINK.finditer(markup):
        value = html.unescape(next(g for g in match.groups() if g is not None)).strip()
        if value.lower().startswith(_SAFE):
            targets.append(value)
    return targets


def differences(fast: ParsedFeed, slow: ParsedFeed) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name in ("title", "link", "ttl_minutes", "warning"):
        if getattr(fast, name) != getattr(slow, name):
            found.append((f"feed.{name}", f"{getattr(fast, name)!r} != {getattr(slow, name)!r}"))
    if len(fast.entries) != len(slow.entries):
        found.append(("entry count", f"{len(fast.entries)} != {len(slow.entries)}"))
        return found
    for index, (a, b) in enumerate(zip(fast.entries, slow.entries, strict=True)):
        for name in (
            "source_id",
            "link",
            "title",
            "author",
            "published",
            "updated",
            "has_full_content",
        ):
            if getattr(a, name) != getattr(b, name):
                found.append(
                    (f"entry.{name}", f"#{index}: {getattr(a, name)!r} != {getattr(b, name)!r}")
                )
        if html_to_blocks(a.content_html) != html_to_blocks(b.content_html):
            found.append(
                ("entry.text", f"#{index}: {a.content_html[:160]!r} != {b.content_html[:160]!r}")
            )
        slow_links = link_targets(b.content_html)
        if [t for t in link_targets(a.content_html) if t in slow_links] != slow_links:
            found.append(
                ("entry.links", f"#{index}: {link_targets(a.content_html)[:4]} != {slow_links[:4]}")
            )
    return found


HEADERS = {"content-type": "application/xml"}


@dataclass
class Tally:
    """What reading the documents both ways found."""

    declined: Counter[str] = field(default_factory=Counter)
    disagreements: dict[str, list[str]] = field(default_factory=dict)
    taken: int = 0
    fast_seconds: float = 0.0
    slow_seconds: float = 0.0

    def compare(self, path: Path, base: str) -> None:
        """Read one document both ways (feedparser only when the fast parser took it)."""
        body = path.read_bytes()
        started = time.perf_counter()
        try:
            fast = read_plain_feed(body, HEADERS, base)
        except NeedsFeedparser as reason:
            self.declined[re.sub(r"'[^']*'|<[^>]*>|\d+", "…", str(reason))[:70]] += 1
            return
        self.fast_seconds += time.perf_counter() - started
        self.taken += 1
        started = time.perf_counter()
        try:
            slow = parse_with_feedparser(base, body, HEADERS, base)
        except ParseError as exc:
            self.disagreements.setdefault("feedparser refused", []).append(f"{path}: {exc}")
            return
        finally:
            self.slow_seconds += time.perf_counter() - started
        for kind, detail in differences(fast, slow):
            self.disagreements.setdefault(kind, []).append(f"{path}: {detail}")

    def report(self, documents: int, show: int) -> None:
        print(
            f"{documents} documents: fast XML parser took {self.taken}, "
            f"declined {sum(self.declined.values())}"
        )
        if self.taken:
            print(
                f"time on the documents it took: fast {self.fast_seconds:.2f}s, feedparser "
                f"{self.slow_seconds:.2f}s "
                f"(×{self.slow_seconds / max(self.fast_seconds, 1e-9):.1f})"
            )
        for why, count in self.declined.most_common(25):
            print(f"  declined {count:5d}  {why}")
        for kind, examples in sorted(self.disagreements.items()):
            print(f"DISAGREE {kind}: {len(examples)}")
            for example in examples[:show]:
                print(f"    {example}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--show", type=int, default=5, help="examples per disagreement")
    parser.add_argument(
        "--base",
        default="http://feeds.example/dir/feed.xml",
        help="URL the documents are read as if fetched from",
    )
    args = parser.parse_args(argv)
    files = sorted(
        p
        for d in args.dirs
        for p in d.rglob("*")
        if p.is_file() and p.suffix.lower() not in (".json", ".py", ".md")
    )
    tally = Tally()
    for path in files:
        tally.compare(path, args.base)
    tally.report(len(files), args.show)
    return 1 if tally.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
