"""Startup errors are one line with exit status 2, and never show a password; exposure
is announced (issue 18, defects 11, 12, 13)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from aggregator.storage import Storage
from tests.helpers import Cli, CliResult, free_port


def _one_line(result: CliResult) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _config(folder: Path, body: str) -> Path:
    (folder / "config.yaml").write_text(body)
    return folder


@pytest.mark.parametrize(
    "verb", [("feeds", "list"), ("poll", "--once"), ("db", "upgrade"), ("run",)]
)
def test_a_database_newer_than_the_code_is_one_line_naming_the_version(
    database_url: str, tmp_path: Path, cli: Cli, verb: tuple[str, ...]
) -> None:
    storage = Storage(database_url)
    storage.upgrade()
    with storage.engine.begin() as connection:  # a later version's migration ran
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    storage.close()
    folder = _config(
        tmp_path, f"database: {database_url}\nfeeds: []\nserver:\n  port: {free_port()}\n"
    )
    result = cli(*verb, cwd=folder)
    line = _one_line(result)
    assert result.stdout == ""  # `run` says nothing of polling or serving first
    assert "revision 0099" in line and "newer than aggregator" in line
    assert "aggregator 0." in line and "db upgrade" in line


def test_a_priority_too_large_for_the_database_is_a_config_error(tmp_path: Path, cli: Cli) -> None:
    folder = _config(
        tmp_path, "feeds:\n  - url: feed.xml\n    priority: 100000000000000000000000\n"
    )
    line = _one_line(cli("poll", "--once", cwd=folder))
    assert line.startswith("aggregator: config: feeds[0].priority: must be at most")
    added = cli("feeds", "add", "x.xml", "--priority", "100000000000000000000000", cwd=folder)
    assert added.returncode == 2 and "Traceback" not in added.stderr
    assert "--priority" in added.stderr


def test_a_deeply_nested_yaml_file_is_one_line(tmp_path: Path, cli: Cli) -> None:
    folder = _config(tmp_path, "feeds: " + "[" * 5000 + "]" * 5000 + "\n")
    line = _one_line(cli("feeds", "list", cwd=folder))
    assert "nested too deeply" in line


@pytest.mark.parametrize(
    "url",
    [
        "foo+bar://alice:s3cr3t-pw@db.example/news",  # an unknown driver
        "postgresql+psycopg://alice:s3cr3t-pw@127.0.0.1:1/news",  # nothing listens there
    ],
)
def test_no_error_shows_the_database_password(tmp_path: Path, cli: Cli, url: str) -> None:
    folder = _config(tmp_path, f"database: '{url}'\nfeeds: []\n")
    for result in (
        cli("feeds", "list", cwd=folder),
        cli("feeds", "list", cwd=folder, env={"AGGREGATOR_DATABASE_URL": url}),
    ):
        assert "s3cr3t-pw" not in result.stderr + result.stdout
        line = _one_line(result)  # a database that cannot be used is a startup error
        assert "alice:***@" in line or "alice" not in line


def _unusable_databases(tmp_path: Path, pg_url: str) -> dict[str, str]:
    """Databases that cannot be reached or opened (a password in each PostgreSQL URL)."""
    server = make_url(pg_url).set(password="s3cr3t-pw")
    return {
        "closed port": "postgresql+psycopg://alice:s3cr3t-pw@127.0.0.1:1/news",
        "unknown role": server.set(username="no_such_role_fix18").render_as_string(False),
        "missing database": server.set(database=f"{server.database}_missing").render_as_string(
            False
        ),
        "no such folder": f"sqlite:///{tmp_path}/no/such/folder/a.db",
    }


def test_a_database_that_cannot_be_reached_or_opened_is_a_startup_error(
    tmp_path: Path, cli: Cli, pg_url: str
) -> None:
    """One line naming the database (its password masked), exit status 2, for every verb;
    and ``run`` says so before its banner: nothing claims to serve."""
    port = free_port()
    for what, url in _unusable_databases(tmp_path, pg_url).items():
        folder = _config(tmp_path, f"database: '{url}'\nfeeds: []\nserver: {{port: {port}}}\n")
        for verb in (("feeds", "list"), ("poll",), ("db", "upgrade"), ("run",), ("serve",)):
            result = cli(*verb, cwd=folder)
            line = _one_line(result)
            assert line.startswith("aggregator: storage: cannot open database"), (what, line)
            assert "s3cr3t-pw" not in line, (what, line)
            assert "***" in line or url.startswith("sqlite"), (what, line)
            assert result.stdout == "", (what, verb, result.stdout)


def test_a_broker_url_in_a_config_error_is_masked(tmp_path: Path, cli: Cli) -> None:
    folder = _config(tmp_path, "broker: 'amqps://bob:hunter2@mq.example/'\nfeeds: []\n")
    line = _one_line(cli("feeds", "list", cwd=folder))
    assert "hunter2" not in line and "bob:***@" in line


def test_run_on_a_public_address_warns_as_serve_does(tmp_path: Path, cli: Cli) -> None:
    """The warning comes before anything else (here the daemon then stops at once: its
    port is taken)."""
    database = f"sqlite:///{tmp_path / 'a.db'}"
    taken = socket.socket()
    taken.bind(("0.0.0.0", 0))
    taken.listen()
    port = taken.getsockname()[1]
    folder = _config(
        tmp_path, f"database: {database}\nfeeds: []\nserver: {{host: 0.0.0.0, port: {port}}}\n"
    )
    with taken:
        for verb in ("run", "serve"):
            result = cli(verb, cwd=folder)
            assert result.returncode != 0
            assert "warning: serving on 0.0.0.0, reachable from other machines" in result.stderr
        loopback = _config(tmp_path, f"database: {database}\nfeeds: []\nserver: {{port: {port}}}\n")
        alone = cli("run", cwd=loopback)
        assert alone.returncode != 0 and "warning" not in alone.stderr
