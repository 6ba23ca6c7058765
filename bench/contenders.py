"""The runs ``bench/ingest.py`` compares, each a whole process into a fresh database.

- ours: ``aggregator --config CFG poll --once`` (from a venv of this checkout without the
  test extras, made on first use, or this python's venv);
- reader (lemon24/reader from PyPI, installed into its own venv on first use):
  ``make_reader(db)``, ``add_feed`` each URL, ``update_feeds(workers=2)``;
- ``feedparser.parse(bytes)`` over the same files, nothing else.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from bench import ROOT
from bench.measure import Run, measured

READER_VENV = ROOT / ".bench-venv"
OURS_VENV = ROOT / ".bench-venv-ours"
"""Ours as a user installs it (``pip install -e .``, no test extras): the test extras bring
packages (trio, rich, pygments) that httpx and httpcore import when they are present,
~4 MB that a user's process does not have."""
READER_REQUIREMENTS = ("reader>=3.20,<4", "sgmllib3k")
"""reader 3.x parses with a feedparser it vendors (a development snapshot newer than the
6.0.x release) by default; that copy imports ``sgmllib``, which reader does not declare."""

READER_SCRIPT = """\
import sys
from reader import make_reader
db, urls = sys.argv[1], open(sys.argv[2]).read().split()
reader = make_reader(db)
for url in urls:
    reader.add_feed(url)
reader.update_feeds(workers=2)
reader.close()
"""

FEEDPARSER_SCRIPT = """\
import sys, pathlib, feedparser
entries = 0
for path in sys.argv[1:]:
    entries += len(feedparser.parse(pathlib.Path(path).read_bytes()).entries)
print(entries)
"""


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}


def run_ours(aggregator: str, urls: list[str], work: Path, polling: str = "") -> Run:
    db = work / "agg.db"
    config = work / "config.yaml"
    config.write_text(
        f"database: sqlite:///{db}\n{polling}feeds:\n" + "".join(f"  - url: {u}\n" for u in urls)
    )
    wall, rss, out, tree, pss = measured(
        [aggregator, "--config", str(config), "poll", "--once"], work, clean_env()
    )
    with contextlib.closing(sqlite3.connect(db)) as con:
        items = con.execute("select count(*) from items").fetchone()[0]
        multi = con.execute(
            "select count(*), coalesce(sum(size), 0) from clusters where size > 1"
        ).fetchone()
    failed = re.search(r"\((\d+) failed\)", out)
    note = "; ".join(
        filter(
            None,
            [
                f"{multi[0]} clusters with copies holding {multi[1]} items",
                f"{failed.group(1) if failed else '?'} feeds failed",
                tree,
            ],
        )
    )
    return Run(wall, rss, items, note, pss)


def run_reader(python: Path, urls: list[str], work: Path, installed_feedparser: bool) -> Run:
    db = work / "reader.sqlite"
    script, url_file = work / "reader_poll.py", work / "urls.txt"
    script.write_text(READER_SCRIPT)
    url_file.write_text("\n".join(urls))
    env = clean_env()
    if installed_feedparser:
        env["READER_NO_VENDORED_FEEDPARSER"] = "1"
    wall, rss, _, tree, pss = measured(
        [str(python), str(script), str(db), str(url_file)], work, env
    )
    with contextlib.closing(sqlite3.connect(db)) as con:
        items = con.execute("select count(*) from entries").fetchone()[0]
        errors = con.execute(
            "select count(*) from feeds where last_exception is not null"
        ).fetchone()[0]
    return Run(wall, rss, items, "; ".join(filter(None, [f"{errors} feeds failed", tree])), pss)


def run_feedparser(files: list[Path], work: Path) -> Run:
    wall, rss, out, tree, pss = measured(
        [sys.executable, "-c", FEEDPARSER_SCRIPT, *map(str, files)], work, clean_env()
    )
    return Run(wall, rss, int(out.split()[-1]), tree, pss)


def ensure_reader(venv: Path) -> Path:
    """The reader venv's python, creating the venv and installing reader when missing."""
    python = venv / "bin" / "python"
    marker, wanted = venv / ".requirements", " ".join(READER_REQUIREMENTS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    print(f"reader: installing {wanted} into {venv} ...", flush=True)
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            *READER_REQUIREMENTS,
        ],
        check=True,
    )
    marker.write_text(wanted)
    return python


def ensure_ours(venv: Path) -> str:
    """The ``aggregator`` command of a venv holding this checkout (editable) and its runtime
    dependencies only, made when missing or when ``pyproject.toml`` changed."""
    command = venv / "bin" / "aggregator"
    marker = venv / ".pyproject-sha1"
    wanted = hashlib.sha1((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if command.exists() and marker.exists() and marker.read_text() == wanted:
        return str(command)
    print(f"ours: installing this checkout (no extras) into {venv} ...", flush=True)
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-e",
            str(ROOT),
        ],
        check=True,
    )
    marker.write_text(wanted)
    return str(command)


def version_of(python: str | Path, package: str) -> str:
    done = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))",
            package,
        ],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or "?"
