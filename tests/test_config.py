"""Configuration: ``load_settings`` directly, and the ``aggregator`` CLI as a user runs it
(in this process through ``aggregator.cli.main``; one real process for the exit status).

A bad config must stop the CLI with exit status 2 and exactly one line on stderr
naming the offending key, never a traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aggregator.config import (
    CONFIG_ENV,
    DATABASE_ENV,
    Settings,
    load_settings,
    parse_duration,
)
from aggregator.errors import ConfigError
from tests.helpers import Cli, CliResult

GOLDEN = Path(__file__).resolve().parent / "golden"


def write_config(folder: Path, text: str, name: str = "config.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load(folder: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    return load_settings(write_config(folder, text), env or {})


def clean_env(**extra: str) -> dict[str, str]:
    """The test runner's environment without any AGGREGATOR_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    env.update(extra)
    return env


# -- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("90s", 90.0),
        ("15m", 900.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1.5h", 5400.0),
        (" 15 m ", 900.0),
        ("90", 90.0),
        (45, 45.0),
        (2.5, 2.5),
    ],
)
def test_duration_parses(value: object, seconds: float) -> None:
    assert parse_duration(value, "polling.interval") == seconds


@pytest.mark.parametrize(
    "value",
    [
        "soon",
        "10 minutes",
        "15M",
        "5w",
        "-5s",
        "0",
        "0s",
        0,
        -3,
        "",
        "h",
        True,
        None,
        [],
        {"m": 15},
    ],
)
def test_bad_duration_names_the_key(value: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(value, "feeds[3].interval")
    assert info.value.key == "feeds[3].interval"
    assert str(info.value).startswith("config: feeds[3].interval: ")


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), "9999999999d"], ids=["nan", "inf", "huge"]
)
def test_non_finite_or_huge_duration_is_refused(value: object) -> None:
    with pytest.raises(ConfigError):
        parse_duration(value, "polling.interval")


def test_durations_in_a_config_file(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """
polling:
  interval: 15m
  timeout: 90s
feeds:
  - url: a.xml
    interval: 2h
  - url: b.xml
    interval: 600
  - url: c.xml
dedup:
  window: 1d
""",
    )
    assert settings.polling.interval == 900.0
    assert settings.polling.timeout == 90.0
    assert [f.interval for f in settings.feeds] == [7200.0, 600.0, None]
    assert settings.dedup.window == 86400.0


def test_defaults_when_sections_are_missing(tmp_path: Path) -> None:
    settings = load(tmp_path, "")
    assert settings.feeds == ()
    assert settings.polling.interval == 30 * 60
    assert settings.polling.timeout == 30.0
    assert settings.server.port == 8080


# -- feed URLs and paths --------------------------------------------------------------------


def test_relative_feed_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "conf"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the current directory must not matter
    settings = load(
        folder,
        """
feeds:
  - feeds/one.xml
  - url: ../shared/two.xml
  - url: ./three.json
""",
    )
    base = folder.resolve()
    assert [f.url for f in settings.feeds] == [
        str(base / "feeds" / "one.xml"),
        str(tmp_path.resolve() / "shared" / "two.xml"),
        str(base / "three.json"),
    ]


def test_absolute_paths_file_and_http_urls_are_kept(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """
feeds:
  - /srv/feeds/abs.xml
  - file:///srv/feeds/local.xml
  - http://news.example.org/rss
  - url: https://news.example.org/feed.json
    name: Example
    group: news
    priority: 3
""",
    )
    assert [f.url for f in settings.feeds] == [
        "/srv/feeds/abs.xml",
        "file:///srv/feeds/local.xml",
        "http://news.example.org/rss",
        "https://news.example.org/feed.json",
    ]
    last = settings.feeds[-1]
    assert (last.name, last.group, last.priority) == ("Example", "news", 3)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("feeds:\n  - url: ftp://files.example.org/feed.xml\n", "feeds[0].url"),
        ("feeds:\n  - a.xml\n  - name: no url\n", "feeds[1].url"),
        ("feeds:\n  - url: ''\n", "feeds[0].url"),
        ("feeds:\n  - url: 42\n", "feeds[0].url"),
        ("feeds:\n  - a.xml\n  - ./a.xml\n", "feeds[1].url"),
        ("feeds:\n  - url: a.xml\n    nmae: typo\n", "feeds[0].nmae"),
        ("feeds:\n  - url: a.xml\n    priority: high\n", "feeds[0].priority"),
        ("feeds:\n  - a.xml\n  - url: b.xml\n    interval: often\n", "feeds[1].interval"),
        ("feeds: a.xml\n", "feeds"),
        ("feeds:\n  - null\n", "feeds[0]"),
        ("databse: sqlite:///x.db\n", "databse"),
        ("database: 42\n", "database"),
        ("database: just-a-file.db\n", "database"),
        ("polling:\n  intervall: 5m\n", "polling.intervall"),
        ("polling:\n  timeout: soon\n", "polling.timeout"),
        ("polling:\n  concurrency: eight\n", "polling.concurrency"),
        ("polling:\n  max_bytes: 10\n", "polling.max_bytes"),
        ("polling: 5m\n", "polling"),
        ("polling:\n  fingerprint_worker: 'yes'\n", "polling.fingerprint_worker"),
        ("dedup:\n  threshold: 1.5\n", "dedup.threshold"),
        ("server:\n  port: 70000\n", "server.port"),
        ("- a.xml\n- b.xml\n", "config"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    assert info.value.key == key
    assert str(info.value).startswith(f"config: {key}: ")


def test_invalid_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "polling:\n  interval: 5m\nfeeds: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    assert info.value.key == str(path)
    assert "not valid YAML at line" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.yaml", {})
    assert info.value.key == "--config"
    assert "file not found" in str(info.value)


# -- database -------------------------------------------------------------------------------


def test_default_database_is_a_sqlite_file_next_to_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load(tmp_path / "conf", "feeds: []\n")
    assert settings.database == f"sqlite:///{(tmp_path / 'conf').resolve() / 'aggregator.db'}"


def test_relative_sqlite_url_is_relative_to_the_config(tmp_path: Path) -> None:
    settings = load(tmp_path / "conf", "database: sqlite:///data/agg.db\n")
    assert settings.database == f"sqlite:///{(tmp_path / 'conf').resolve() / 'data' / 'agg.db'}"


def test_absolute_and_other_database_urls_are_kept(tmp_path: Path) -> None:
    for url in (
        "sqlite:////var/lib/agg.db",
        "sqlite://",
        "sqlite:///:memory:",
        "postgresql+psycopg://agg@db.example.org/agg",
    ):
        assert load(tmp_path, f"database: '{url}'\n").database == url


def test_driver_qualified_sqlite_url_is_relative_to_the_config(tmp_path: Path) -> None:
    settings = load(tmp_path / "conf", "database: sqlite+pysqlite:///agg.db\n")
    assert settings.database == f"sqlite+pysqlite:///{(tmp_path / 'conf').resolve() / 'agg.db'}"


def test_database_env_overrides_the_file(tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    settings = load(tmp_path, "database: sqlite:///file.db\n", env={DATABASE_ENV: other})
    assert settings.database == other


def test_empty_database_env_is_ignored(tmp_path: Path) -> None:
    settings = load(tmp_path, "database: sqlite:///file.db\n", env={DATABASE_ENV: ""})
    assert settings.database == f"sqlite:///{tmp_path.resolve() / 'file.db'}"


def test_load_settings_reads_os_environ_only_when_env_is_not_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATABASE_ENV, "postgresql+psycopg://agg@db.example.org/agg")
    path = write_config(tmp_path, "database: sqlite:///file.db\n")
    assert load_settings(path).database == "postgresql+psycopg://agg@db.example.org/agg"
    assert load_settings(path, {}).database == f"sqlite:///{tmp_path.resolve() / 'file.db'}"


def test_config_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes("feeds:\n  - caf\xe9.xml\n".encode("latin-1"))
    with pytest.raises(ConfigError):
        load_settings(path, {})


# -- the CLI --------------------------------------------------------------------------------


def assert_one_line_error(result: CliResult | subprocess.CompletedProcess[str], key: str) -> None:
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert key in lines[0], lines[0]
    assert lines[0].startswith("aggregator: config: ")
    assert result.stdout == ""


CLI_ERRORS = [
    pytest.param(
        "feeds:\n  - a.xml\n  - url: b.xml\n    interval: often\n",
        "feeds[1].interval",
        id="bad-feed-interval",
    ),
    pytest.param("polling:\n  timeout: soon\n", "polling.timeout", id="bad-timeout"),
    pytest.param("feeds:\n  - name: No URL\n", "feeds[0].url", id="missing-url"),
    pytest.param("polling:\n  intervall: 5m\n", "polling.intervall", id="unknown-key"),
    pytest.param("polling:\n  concurrency: [1, 2]\n", "polling.concurrency", id="wrong-type"),
    pytest.param("feeds: {url: a.xml}\n", "feeds", id="feeds-not-a-list"),
    pytest.param("polling:\n  interval: 5m\nfeeds: [unclosed\n", "config.yaml", id="invalid-yaml"),
]


@pytest.mark.parametrize(("text", "key"), CLI_ERRORS)
def test_cli_config_error_is_one_line_and_status_2(
    tmp_path: Path, text: str, key: str, cli: Cli
) -> None:
    path = write_config(tmp_path / "conf", text)
    result = cli("--config", str(path), "feeds", "list", cwd=tmp_path)
    assert_one_line_error(result, key)
    assert not (tmp_path / "conf" / "aggregator.db").exists()


def test_a_bad_config_ends_the_process_with_status_2(tmp_path: Path) -> None:
    """The exit status a shell or systemd sees, from a real ``python -m aggregator``."""
    path = write_config(tmp_path / "conf", "polling:\n  timeout: soon\n")
    result = subprocess.run(
        [sys.executable, "-m", "aggregator", "--config", str(path), "run"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert_one_line_error(result, "polling.timeout")
    assert not (tmp_path / "conf" / "aggregator.db").exists()


def test_cli_missing_config_file(tmp_path: Path, cli: Cli) -> None:
    missing = tmp_path / "nowhere" / "config.yaml"
    result = cli("--config", str(missing), "feeds", "list", cwd=tmp_path)
    assert_one_line_error(result, "--config")
    assert str(missing) in result.stderr


def test_cli_without_config_and_no_config_yaml_in_cwd_runs_on_defaults(
    tmp_path: Path, cli: Cli
) -> None:
    """Issue 16: outside the repository every command failed with "config: --config: file
    not found: config.yaml", though no --config was given and every key is optional."""
    data = tmp_path / "data"
    result = cli(
        "feeds",
        "list",
        cwd=tmp_path,
        env={"XDG_CONFIG_HOME": str(tmp_path / "conf"), "XDG_DATA_HOME": str(data)},
    )
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("aggregator: no config file (looked for ./config.yaml, ")
    assert "running on defaults" in line and str(data / "aggregator" / "aggregator.db") in line
    assert (data / "aggregator" / "aggregator.db").is_file()


def test_cli_config_not_utf8(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes("feeds:\n  - caf\xe9.xml\n".encode("latin-1"))
    result = cli("--config", str(path), "feeds", "list", cwd=tmp_path)
    assert_one_line_error(result, "config.yaml")


def test_cli_default_database_is_created_next_to_the_config(tmp_path: Path, cli: Cli) -> None:
    conf = tmp_path / "conf"
    path = write_config(conf, "feeds: []\n")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    result = cli("--config", str(path), "feeds", "list", "--format", "json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip() == "[]"
    assert (conf / "aggregator.db").is_file()
    assert not (cwd / "aggregator.db").exists()


def test_cli_reads_config_from_env(tmp_path: Path, cli: Cli) -> None:
    conf = tmp_path / "conf"
    path = write_config(conf, "feeds: []\n")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    write_config(cwd, "polling:\n  intervall: 1m\n")  # a broken ./config.yaml must be ignored
    result = cli("feeds", "list", cwd=cwd, env={CONFIG_ENV: str(path)})
    assert result.returncode == 0, result.stderr
    assert (conf / "aggregator.db").is_file()


def test_cli_config_flag_beats_env(tmp_path: Path, cli: Cli) -> None:
    good = write_config(tmp_path / "good", "feeds: []\n")
    bad = write_config(tmp_path / "bad", "polling:\n  intervall: 1m\n")
    result = cli("--config", str(good), "feeds", "list", cwd=tmp_path, env={CONFIG_ENV: str(bad)})
    assert result.returncode == 0, result.stderr
    result = cli("feeds", "list", cwd=tmp_path, env={CONFIG_ENV: str(bad)})
    assert_one_line_error(result, "polling.intervall")


def test_cli_database_env_overrides_the_config(tmp_path: Path, cli: Cli) -> None:
    conf = tmp_path / "conf"
    path = write_config(conf, "database: sqlite:///from-file.db\n")
    target = tmp_path / "from-env.db"
    result = cli(
        "--config",
        str(path),
        "feeds",
        "list",
        cwd=tmp_path,
        env={DATABASE_ENV: f"sqlite:///{target}"},
    )
    assert result.returncode == 0, result.stderr
    assert target.is_file()
    assert not (conf / "from-file.db").exists()


def test_cli_relative_feed_path_polls_the_file_next_to_the_config(tmp_path: Path, cli: Cli) -> None:
    conf = tmp_path / "conf"
    (conf / "feeds").mkdir(parents=True)
    shutil.copy(GOLDEN / "rss10.rdf", conf / "feeds" / "ledger.rdf")
    path = write_config(conf, "feeds:\n  - url: feeds/ledger.rdf\n    name: Ledger\n")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    polled = cli("--config", str(path), "poll", "--once", cwd=cwd)
    assert polled.returncode == 0, polled.stderr
    feed_path = str((conf / "feeds" / "ledger.rdf").resolve())
    assert f"ok            {feed_path}: 2 new" in polled.stdout
    listed = cli("--config", str(path), "feeds", "list", "--format", "json", cwd=cwd)
    assert listed.returncode == 0, listed.stderr
    assert f'"url": "{feed_path}"' in listed.stdout


def test_fingerprint_worker_is_off_unless_asked(tmp_path: Path) -> None:
    assert load(tmp_path / "a", "feeds: []\n").polling.fingerprint_worker is False
    on = load(tmp_path / "b", "polling:\n  fingerprint_worker: true\nfeeds: []\n")
    assert on.polling.fingerprint_worker is True
