"""Cost of one feed document whose items are all copies of one story (issue 18, defect 5).

    .venv/bin/python bench/copies.py [--items 8000] [--database URL]

Serves a document of ``--items`` identical items (the same title and text, a guid and a
link each) on loopback and polls it once with ``aggregator poll`` (``polling.max_items``
raised to fit), as a whole process, into a fresh database (a SQLite file unless
``--database`` names an empty PostgreSQL one).  The same poll of a quarter and of half as
many items runs in the same minutes, so the figures to read are the ratios: time and
memory grow linearly when doubling the items doubles the time (ratio ~2), not more.

The target (issue 18): 8,000 items in ≤ 10 s and under 300 MB.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/copies.py`: the repository root, not bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import os
import random
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

from bench.measure import measured
from bench.words import Words

_WORDS = Words(random.Random(31337))
STORY = "".join("<p>" + " ".join(_WORDS.sentence() for _ in range(3)) + "</p>" for _ in range(2))
"""About 100 words in two paragraphs, the story every item carries: 8,000 items make a
document of about 5.4 MB, the size of the issue's example."""


def document(items: int) -> bytes:
    """RSS with ``items`` copies of one story: the same title and text, a guid and link each."""
    entries = "".join(
        f"<item><title>One story, many times</title><guid>copy-{n}</guid>"
        f"<link>https://copies.example/story/{n}</link>"
        "<pubDate>Fri, 20 Nov 2026 10:00:00 +0000</pubDate>"
        f"<description><![CDATA[{STORY}]]></description></item>"
        for n in range(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Copies</title><link>https://copies.example/</link>{entries}</channel></rss>"
    ).encode()


@contextmanager
def serving(body: bytes) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/copies.xml"
    finally:
        server.shutdown()
        server.server_close()


def _fresh_postgres(url: str) -> None:
    """Empty the PostgreSQL database at ``url`` (its public schema) for the next poll."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def poll_once(items: int, database: str | None, folder: Path) -> tuple[float, float]:
    """Poll a document of ``items`` copies once; return (wall seconds, peak RSS MB)."""
    run = folder / f"run-{items}"
    run.mkdir()
    if database is None:
        url = f"sqlite:///{run / 'copies.db'}"
    else:
        _fresh_postgres(database)
        url = database
    with serving(document(items)) as feed:
        config = run / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "database": url,
                    "feeds": [{"url": feed}],
                    "polling": {"timeout": "120s", "max_items": max(items, 1)},
                }
            )
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
        cmd = [sys.executable, "-m", "aggregator", "--config", str(config), "poll"]
        wall, rss_mb, _, _, _ = measured(cmd, run, env)
    return wall, rss_mb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--items", type=int, default=8000)
    parser.add_argument("--database", help="an empty PostgreSQL database (default SQLite)")
    args = parser.parse_args(argv)
    sizes = [max(args.items // 4, 1), max(args.items // 2, 1), args.items]
    print(f"one document of N copies of one story, polled once ({args.database or 'SQLite'})")
    print(f"{'items':>8} {'seconds':>9} {'peak MB':>9} {'time ratio':>11}")
    previous: float | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for items in sizes:
            wall, rss = poll_once(items, args.database, Path(tmp))
            ratio = f"{wall / previous:.2f}" if previous else "-"
            print(f"{items:>8} {wall:>9.2f} {rss:>9.0f} {ratio:>11}")
            previous = wall
    print("target: 8,000 items in <= 10 s and under 300 MB; ratio ~2 per doubling = linear")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
