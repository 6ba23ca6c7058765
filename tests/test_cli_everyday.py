"""Issue 16's stumbles on the command line, each as a user met it: adding, changing and
removing feeds (against a real HTTP server on 127.0.0.1), reading the output (names,
plurals, limits), ``poll`` alone, the ``run`` banner's count, and the README's command
table against ``--help``."""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from aggregator.cli.parser import parser
from aggregator.config import load_settings
from aggregator.daemon.scheduler import Daemon, feeds_to_poll
from aggregator.storage import Storage
from aggregator.types import FeedSpec
from tests.conftest import REPO, SEEDS
from tests.feeds import html, rss, story
from tests.helpers import Cli, free_port

RSS = "application/rss+xml"


@pytest.fixture(autouse=True)
def _quiet_test_server() -> Iterator[None]:
    """The loopback server's request log goes to the same stderr the CLI writes to once an
    earlier test has turned logging on: the tests read the CLI's lines only."""
    logger = logging.getLogger("werkzeug")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder with a config file listing no feed, and its database beside it."""
    (tmp_path / "config.yaml").write_text("feeds: []\n")
    return tmp_path


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A copy of the repo's config.yaml and seeds/, as a newcomer's checkout has them."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


def _feed(title: str, seed: int = 1, items: int = 1) -> bytes:
    return rss(
        title,
        [
            {
                "guid": f"{title}-{n}",
                "title": f"{title} story {n}",
                "link": f"https://news.example/{seed}/{n}",
                "date": f"Mon, 0{n + 1} Nov 2026 08:00:00 +0000",
                "html": html(story(seed * 100 + n)),
            }
            for n in range(items)
        ],
    )


def _page(*links: str) -> str:
    return f"<!doctype html><html><head>{''.join(links)}</head><body><p>hi</p></body></html>"


def _stored(folder: Path) -> list[dict[str, object]]:
    settings = load_settings(folder / "config.yaml", {})
    storage = Storage(settings.database)
    storage.upgrade()
    return [
        {"id": f.id, "url": f.url, "name": f.name, "group": f.group, "priority": f.priority}
        for f in storage.list_feeds()
    ]


# -- feeds add checks what it is given -------------------------------------------------------


def test_feeds_add_refuses_a_word_that_is_no_url(folder: Path, cli: Cli) -> None:
    refused = cli("feeds", "add", "not-a-url", cwd=folder)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr == (
        f"aggregator: not subscribed to not-a-url: not an http(s) URL, and no file "
        f"{folder / 'not-a-url'} exists (--force subscribes anyway)\n"
    )
    assert _stored(folder) == []
    forced = cli("feeds", "add", "not-a-url", "--force", cwd=folder, check=True)
    assert forced.stdout.startswith(f"added: {folder / 'not-a-url'} (id 1, without looking")


def test_feeds_add_refuses_a_404(folder: Path, cli: Cli, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gone.xml").respond_with_data("", status=404)
    refused = cli("feeds", "add", httpserver.url_for("/gone.xml"), cwd=folder)
    assert refused.returncode == 1
    assert f"not subscribed to {httpserver.url_for('/gone.xml')}: HTTP 404" in refused.stderr
    assert _stored(folder) == []


def test_feeds_add_on_a_home_page_without_feeds_says_so_at_once(
    folder: Path, cli: Cli, httpserver: HTTPServer
) -> None:
    """It used to be accepted, to fail only at the next poll ("not a feed (an HTML page?)")."""
    httpserver.expect_request("/").respond_with_data(_page(), content_type="text/html")
    refused = cli("feeds", "add", httpserver.url_for("/"), cwd=folder)
    assert refused.returncode == 1 and "an HTML page, not a feed" in refused.stderr
    assert _stored(folder) == []


def test_feeds_add_on_a_page_with_one_feed_subscribes_to_it(
    folder: Path, cli: Cli, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/").respond_with_data(
        _page(f'<link rel="alternate" type="{RSS}" href="/posts.rss">'), content_type="text/html"
    )
    httpserver.expect_request("/posts.rss").respond_with_data(_feed("Harbour"), content_type=RSS)
    added = cli("feeds", "add", httpserver.url_for("/"), "--name", "Harbour", cwd=folder)
    assert added.returncode == 0, added.stderr
    feed_url = httpserver.url_for("/posts.rss")
    assert added.stdout.splitlines() == [
        f"{httpserver.url_for('/')} is a page, not a feed; it offers one feed: {feed_url}",
        f"added: {feed_url} (id 1)",
    ]
    assert [(f["url"], f["name"]) for f in _stored(folder)] == [(feed_url, "Harbour")]


def test_feeds_add_on_a_page_with_several_feeds_asks_for_one(
    folder: Path, cli: Cli, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/").respond_with_data(
        _page(
            f'<link rel="alternate" type="{RSS}" title="Posts" href="/posts.rss">',
            f'<link rel="alternate" type="{RSS}" title="Comments" href="/comments.rss">',
        ),
        content_type="text/html",
    )
    for path, title in (("/posts.rss", "Posts"), ("/comments.rss", "Comments")):
        httpserver.expect_request(path).respond_with_data(_feed(title), content_type=RSS)
    asked = cli("feeds", "add", httpserver.url_for("/"), cwd=folder)
    assert asked.returncode == 2 and asked.stdout == ""
    lines = asked.stderr.splitlines()
    assert "offers 2 feeds" in lines[0]
    assert lines[1:] == [
        f"  aggregator feeds add {httpserver.url_for('/posts.rss')}    # Posts",
        f"  aggregator feeds add {httpserver.url_for('/comments.rss')}    # Comments",
    ]
    assert _stored(folder) == []
    # The line it offers works as it stands.
    picked = lines[2].split("#")[0].split()[3]
    cli("feeds", "add", picked, cwd=folder, check=True)
    assert [f["url"] for f in _stored(folder)] == [httpserver.url_for("/comments.rss")]


# -- edit and remove, by id or URL; groups ---------------------------------------------------


def test_feeds_edit_changes_what_adding_again_could_not(folder: Path, cli: Cli) -> None:
    (folder / "a.xml").write_bytes(_feed("A"))
    cli("feeds", "add", "a.xml", cwd=folder, check=True)
    again = cli("feeds", "add", "a.xml", "--priority", "5", cwd=folder, check=True)
    assert "already subscribed" in again.stdout and "aggregator feeds edit 1" in again.stdout
    edited = cli(
        "feeds",
        "edit",
        "1",
        "--name",
        "Alpha",
        "--group",
        "Metro",
        "--priority",
        "5",
        "--interval",
        "2h",
        cwd=folder,
        check=True,
    )
    assert edited.stdout == "feed 1: Alpha; group Metro, priority 5, every 2h, enabled\n"
    assert _stored(folder) == [
        {"id": 1, "url": str(folder / "a.xml"), "name": "Alpha", "group": "Metro", "priority": 5}
    ]
    by_url = cli("feeds", "edit", "a.xml", "--disabled", "--name", "", cwd=folder, check=True)
    assert by_url.stdout.endswith("disabled\n") and "feed 1: " in by_url.stdout
    listed = json.loads(cli("feeds", "list", "--format", "json", cwd=folder, check=True).stdout)
    assert listed[0]["name"] is None
    nothing = cli("feeds", "edit", "1", cwd=folder)
    assert nothing.returncode == 2 and "nothing to change" in nothing.stderr
    unknown = cli("feeds", "edit", "7", "--priority", "1", cwd=folder)
    assert unknown.returncode == 1 and "no feed 7" in unknown.stderr


def test_a_disabled_feed_is_not_polled_and_enabled_again_is(folder: Path, cli: Cli) -> None:
    (folder / "a.xml").write_bytes(_feed("A"))
    cli("feeds", "add", "a.xml", cwd=folder, check=True)
    cli("feeds", "edit", "1", "--disabled", cwd=folder, check=True)
    assert cli("poll", cwd=folder, check=True).stdout.startswith("polled 0 feeds")
    cli("feeds", "edit", "1", "--enabled", cwd=folder, check=True)
    assert "polled 1 feed (0 failed): 1 new" in cli("poll", cwd=folder, check=True).stdout


def test_feeds_remove_takes_the_id_feeds_list_shows(folder: Path, cli: Cli) -> None:
    for name in ("a", "b", "c"):
        (folder / f"{name}.xml").write_bytes(_feed(name))
        cli("feeds", "add", f"{name}.xml", cwd=folder, check=True)
    listed = cli("feeds", "list", cwd=folder, check=True).stdout
    assert re.search(r"^3\s", listed, re.MULTILINE)
    removed = cli("feeds", "remove", "3", cwd=folder, check=True)
    assert removed.stdout == f"removed feed 3 ({folder / 'c.xml'}) and its 0 items\n"
    cli("feeds", "remove", "b.xml", cwd=folder, check=True)
    assert [f["id"] for f in _stored(folder)] == [1]
    missing = cli("feeds", "remove", "3", cwd=folder)
    assert missing.returncode == 1 and "no feed 3" in missing.stderr


def test_groups_are_one_whatever_their_case_and_the_table_shows_them(
    folder: Path, cli: Cli
) -> None:
    for name, group in (("a", "Metro"), ("b", "metro"), ("c", "Sports")):
        (folder / f"{name}.xml").write_bytes(_feed(name, seed=ord(name)))
        cli("feeds", "add", f"{name}.xml", "--group", group, "--name", name.upper(), cwd=folder)
    cli("feeds", "edit", "3", "--group", "METRO", cwd=folder, check=True)
    assert {f["group"] for f in _stored(folder)} == {"Metro"}
    table = cli("feeds", "list", cwd=folder, check=True).stdout.splitlines()
    assert table[0].split()[:4] == ["id", "name", "group", "priority"]
    assert [row.split()[1:3] for row in table[2:]] == [
        ["A", "Metro"],
        ["B", "Metro"],
        ["C", "Metro"],
    ]
    # The ?group= filter of the pages and feeds compares the same way.
    cli("poll", cwd=folder, check=True)
    storage = Storage(load_settings(folder / "config.yaml", {}).database)
    for spelling in ("metro", "METRO", "Metro"):
        clusters, total = storage.cluster_page(group=spelling, limit=10)
        items, _ = storage.item_page(group=spelling, limit=10)
        assert total == 3 and len(items) == 3, spelling


# -- reading the output ----------------------------------------------------------------------


def test_the_tables_name_feeds_by_their_configured_names(demo: Path, cli: Cli) -> None:
    cli("poll", cwd=demo, check=True)
    items = cli("items", "list", cwd=demo, check=True).stdout
    names = {
        "The Daily Watch News",
        "The Daily Watch Feeds",
        "The Daily Watch Articles",
        "The Daily Something Articles",
        "The Daily Somehting News",
    }
    assert "seeds/" not in items and "…" not in items.splitlines()[0]
    rows = items.splitlines()[2:]
    assert all(any(row.rstrip().endswith(n) for n in names) for row in rows)
    clusters = json.loads(cli("clusters", "list", "--format", "json", cwd=demo, check=True).stdout)
    biggest = max(clusters, key=lambda c: c["size"])
    shown = cli("clusters", "show", str(biggest["id"]), cwd=demo, check=True).stdout
    assert "seeds/" not in shown
    members = shown.splitlines()[3:]
    assert len(members) == biggest["size"]
    assert all(any(row.rstrip().endswith(n) for n in names) for row in members)


def test_counts_say_one_item_from_one_feed(folder: Path, cli: Cli) -> None:
    (folder / "a.xml").write_bytes(_feed("A"))
    cli("feeds", "add", "a.xml", cwd=folder, check=True)
    polled = cli("poll", cwd=folder, check=True).stdout
    assert "polled 1 feed (0 failed): 1 new, 0 updated; 1 item in 1 cluster " in polled
    every = json.loads(
        cli("clusters", "list", "--all", "--format", "json", cwd=folder, check=True).stdout
    )
    shown = cli("clusters", "show", str(every[0]["id"]), cwd=folder, check=True).stdout
    assert shown.splitlines()[0] == f"cluster {every[0]['id']}: 1 item from 1 feed"


def test_listings_stop_at_a_default_limit_and_say_so(demo: Path, cli: Cli) -> None:
    cli("poll", cwd=demo, check=True)
    shown = cli("items", "list", "--format", "json", cwd=demo, check=True)
    assert len(json.loads(shown.stdout)) == 50
    assert "showing the first 50 items; --limit N or --all for more" in shown.stderr
    assert len(json.loads(cli("items", "list", "--all", "--format", "json", cwd=demo).stdout)) == 81
    few = cli("items", "list", "--limit", "5", cwd=demo, check=True)
    assert len(few.stdout.splitlines()) == 2 + 5 and "showing the first 5" in few.stderr
    one = cli("items", "list", "--limit", "1", cwd=demo, check=True)
    assert one.stderr == "aggregator: showing the first 1 item; --limit N or --all for more\n"
    exact = cli("items", "list", "--limit", "81", "--format", "json", cwd=demo, check=True)
    assert len(json.loads(exact.stdout)) == 81 and exact.stderr == ""
    bad = cli("items", "list", "--limit", "0", cwd=demo)
    assert bad.returncode == 2 and "must be at least 1" in bad.stderr
    singles = cli("clusters", "list", "--all", "--limit", "3", cwd=demo, check=True)
    assert len(singles.stdout.splitlines()) == 2 + 3


def test_the_feeds_and_users_lists_stop_at_the_limit_too(folder: Path, cli: Cli) -> None:
    """ "Listings show the first 50 rows (--limit N, --all)", said the README, while
    `feeds list --limit 2` and `users list --limit 2` were unrecognized arguments."""
    storage = Storage(load_settings(folder / "config.yaml", {}).database)
    storage.upgrade()
    for n in range(52):
        storage.add_feed(FeedSpec(url=f"https://news.example/{n}.xml"))
    for name in ("ada", "bob", "cy"):
        storage.add_reader(name, "not a real hash")

    def listed(*args: str) -> tuple[int, str]:
        shown = cli(*args, "--format", "json", cwd=folder, check=True)
        return len(json.loads(shown.stdout)), shown.stderr

    more = "; --limit N or --all for more\n"
    assert listed("feeds", "list") == (50, f"aggregator: showing the first 50 feeds{more}")
    assert listed("feeds", "list", "--all") == (52, "")
    assert listed("feeds", "list", "--limit", "52") == (52, "")
    one = cli("feeds", "list", "--limit", "1", cwd=folder, check=True)
    assert len(one.stdout.splitlines()) == 2 + 1
    assert one.stderr == f"aggregator: showing the first 1 feed{more}"
    assert listed("users", "list") == (3, "")
    assert listed("users", "list", "--limit", "2") == (
        2,
        f"aggregator: showing the first 2 users{more}",
    )
    assert listed("users", "list", "--limit", "1", "--all")[0] == 1  # --limit wins, as elsewhere
    for noun in ("feeds", "users"):
        bad = cli(noun, "list", "--limit", "0", cwd=folder)
        assert bad.returncode == 2 and "must be at least 1" in bad.stderr


def test_the_items_table_has_the_fields_the_readme_lists_for_it(demo: Path, cli: Cli) -> None:
    """The README listed `method` and `score` for `items list`, but only the JSON had
    them: the table's columns and the JSON's fields are each named in the README row."""
    cli("poll", cwd=demo, check=True)
    row = _readme_rows()["items list"]
    header = cli("items", "list", "--limit", "1", cwd=demo, check=True).stdout.splitlines()[0]
    for column in header.split("  "):
        if column.strip():
            assert f"`{column.strip()}`" in row, column
    fields = json.loads(cli("items", "list", "--limit", "1", "--format", "json", cwd=demo).stdout)
    for field in fields[0]:
        assert f"`{field}`" in row, field


# -- poll and run ----------------------------------------------------------------------------


def test_poll_alone_polls_once_and_once_is_still_accepted(folder: Path, cli: Cli) -> None:
    (folder / "a.xml").write_bytes(_feed("A", items=2))
    cli("feeds", "add", "a.xml", cwd=folder, check=True)
    alone = cli("poll", cwd=folder)
    assert alone.returncode == 0, alone.stderr
    assert "polled 1 feed (0 failed): 2 new" in alone.stdout
    assert "polled 1 feed (0 failed): 0 new" in cli("poll", "--once", cwd=folder).stdout


def test_the_run_banner_counts_the_feeds_added_since(folder: Path, cli: Cli) -> None:
    """ "polling 0 configured feeds" while it polled 17: the count now holds every feed
    it will poll, the config's and the stored ones, less the disabled."""
    for name in ("a", "b", "c"):
        (folder / f"{name}.xml").write_bytes(_feed(name))
    (folder / "config.yaml").write_text("feeds:\n  - a.xml\n")
    settings = load_settings(folder / "config.yaml", {})
    storage = Storage(settings.database)
    assert feeds_to_poll(settings, storage) == (1, 1)  # no database yet
    cli("feeds", "add", "b.xml", cwd=folder, check=True)
    cli("feeds", "add", "c.xml", cwd=folder, check=True)
    assert feeds_to_poll(settings, storage) == (3, 1)
    cli("feeds", "edit", "c.xml", "--disabled", cwd=folder, check=True)
    assert feeds_to_poll(settings, storage) == (2, 1)
    # The daemon's "started" line says the same number (it said the config file's 1).
    (folder / "config.yaml").write_text(f"feeds:\n  - a.xml\nserver:\n  port: {free_port()}\n")
    with _stopped_once_started():
        ran = cli("run", cwd=folder)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("aggregator: polling 2 feeds (1 from the config file), ")
    started = [line for line in ran.stderr.splitlines() if "event=started " in line]
    assert len(started) == 1 and " event=started feeds=2 " in f" {started[0]}", ran.stderr


@contextmanager
def _stopped_once_started() -> Iterator[None]:
    """Stops the daemon ``run`` starts in this process once its scheduler runs (it has
    logged "started" by then), through the handler its SIGTERM would call; gives up when
    the block ends without one (the test then fails on what ``run`` said)."""
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            daemon = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
            if isinstance(daemon, Daemon) and daemon.health.scheduler_running:
                daemon.stop()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join(5)


# -- the README's command table and --help ---------------------------------------------------


def _verbs() -> dict[str, argparse.ArgumentParser]:
    """Every command of the command line: ``"feeds add"`` → its parser."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(command: argparse.ArgumentParser, prefix: str) -> None:
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{prefix} {name}".strip())
        if prefix and not any(isinstance(a, argparse._SubParsersAction) for a in command._actions):
            found[prefix] = command

    walk(parser(), "")
    return found


def _readme_table() -> list[tuple[str, list[str]]]:
    """The rows of the README's command table, each with the commands its first cell
    writes out as written (``feeds edit ID|URL [--name N] …``: no ``aggregator``, a ``\\|``
    read as ``|``)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    rows: list[tuple[str, list[str]]] = []
    for line in table.splitlines():
        if line.startswith("| `aggregator "):
            first = re.split(r"(?<!\\)\|", line)[1]  # "\|" is a pipe inside a cell
            codes = re.findall(r"`([^`]*)`", first)
            rows.append((line, [c.removeprefix("aggregator ").replace("\\|", "|") for c in codes]))
    return rows


def _readme_rows() -> dict[str, str]:
    """The rows of the README's command table, under each command they name."""
    rows: dict[str, str] = {}
    for line, codes in _readme_table():
        for code in codes:
            words = [w for w in code.split() if re.match(r"^[a-z]", w)]
            for size in (2, 1):
                rows.setdefault(" ".join(words[:size]), line)
    return rows


def _positionals(sub: argparse.ArgumentParser) -> str:
    """A command's positional arguments in the README's notation: ``ITEM [ITEM]``,
    ``TEXT…``."""
    shapes: list[str] = []
    for action in sub._actions:
        if action.option_strings:
            continue
        name = str(action.metavar or action.dest.upper())
        if isinstance(action.nargs, int):
            shapes += [name] * action.nargs
        else:
            shape = {"?": "[{}]", "+": "{}…", "*": "[{}…]"}.get(str(action.nargs), "{}")
            shapes.append(shape.format(name))
    return " ".join(shapes)


def test_the_readme_command_table_matches_help() -> None:
    rows = _readme_rows()
    verbs = _verbs()
    for command, sub in verbs.items():
        assert command in rows, f"`aggregator {command}` is not in the README's command table"
        row = rows[command]
        for action in sub._actions:
            options = [o for o in action.option_strings if o.startswith("--")]
            if options and options[0] not in ("--help", "--format"):
                assert any(o in row for o in options), f"{command}: {options[0]} not in README"
    # And the other way: what the README writes is what the commands take. It wrote
    # `clusters explain ITEM [ITEM]` where --help said `ITEM [ITEM ...]`, and `--limit N`
    # for every listing while `feeds list` and `users list` had none.
    for code in [code for _, codes in _readme_table() for code in codes]:
        words = code.split()
        command = next((" ".join(words[:n]) for n in (2, 1) if " ".join(words[:n]) in verbs), "")
        assert command, f"README: `aggregator {code}` is no command of --help"
        sub = verbs[command]
        rest = " ".join(words[len(command.split()) :])
        actions = {o: a for a in sub._actions for o in a.option_strings}
        for group in re.findall(r"\[(-[^\]]*)\]", rest):  # "[--name N]", "[--enabled|--disabled]"
            names, *value = group.split()
            for name in names.split("|"):
                assert name in actions, f"README: `{code}`: `{command}` has no {name}"
                takes = actions[name].nargs != 0
                assert takes == bool(value), f"README: `{code}`: {name} takes a value: {takes}"
        positionals = " ".join(re.sub(r"\[-[^\]]*\]", " ", rest).split())
        assert positionals == _positionals(sub), f"README: `{code}`; --help: {_positionals(sub)}"
    # "Every `list` takes `--format table|json`", "Listings show the first 50 rows
    # (`--limit N` …, `--all` …)".
    for command, sub in verbs.items():
        if command.endswith(" list"):
            has = {o for a in sub._actions for o in a.option_strings}
            assert {"--format", "--limit", "--all"} <= has, command
