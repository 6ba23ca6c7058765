"""Issue 16, "a config where people expect one": the search path, the defaults without a
file, and every setting from the environment — through ``load_config`` and through the
``aggregator`` command in this process."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import (
    CONFIG_ENV,
    SYSTEM_CONFIG,
    config_search,
    environment_settings,
    find_config,
    load_config,
    settings_from_mapping,
    user_data_dir,
)
from aggregator.errors import ConfigError
from tests.helpers import Cli


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _home(tmp_path: Path) -> dict[str, str]:
    """An environment whose home, config and data directories are inside ``tmp_path``."""
    return {"HOME": str(tmp_path / "home")}


def test_the_search_order_is_flag_variable_cwd_user_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    env = _home(tmp_path)
    user = _write(tmp_path / "home" / ".config" / "aggregator" / "config.yaml", "feeds: []\n")
    assert config_search(env) == (Path("config.yaml"), user, SYSTEM_CONFIG)
    assert find_config(None, env) == user  # no ./config.yaml: the user's
    local = _write(cwd / "config.yaml", "feeds: []\n")
    assert find_config(None, env).resolve() == local  # type: ignore[union-attr]
    named = _write(tmp_path / "named.yaml", "feeds: []\n")
    assert find_config(None, {**env, CONFIG_ENV: str(named)}) == named
    assert find_config("other.yaml", {**env, CONFIG_ENV: str(named)}) == Path("other.yaml")


def test_xdg_config_home_is_used_when_absolute_and_ignored_when_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    xdg = _write(tmp_path / "xdg" / "aggregator" / "config.yaml", "feeds: []\n")
    env = {**_home(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert find_config(None, env) == xdg
    relative = {**_home(tmp_path), "XDG_CONFIG_HOME": "xdg"}
    assert config_search(relative)[1] == tmp_path / "home/.config/aggregator/config.yaml"


def test_no_file_anywhere_means_defaults_and_a_database_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = _home(tmp_path)
    settings, note = load_config(None, env)
    database = tmp_path / "home" / ".local" / "share" / "aggregator" / "aggregator.db"
    assert user_data_dir(env) == database.parent
    assert settings.path is None and settings.database == f"sqlite:///{database}"
    assert note is not None and "running on defaults" in note and "\n" not in note
    xdg = {**env, "XDG_DATA_HOME": str(tmp_path / "data")}
    settings, _ = load_config(None, xdg)
    assert settings.database == f"sqlite:///{tmp_path / 'data' / 'aggregator' / 'aggregator.db'}"
    with_file = _write(tmp_path / "config.yaml", "feeds: []\n")
    settings, note = load_config(None, env)
    assert note is None and settings.path is not None and settings.path.resolve() == with_file


def test_a_config_variable_naming_a_missing_file_is_an_error_naming_the_variable(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, {**_home(tmp_path), CONFIG_ENV: str(tmp_path / "gone.yaml")})
    assert caught.value.key == CONFIG_ENV and "file not found" in caught.value.message


# -- every setting from the environment ------------------------------------------------------

SAMPLES: dict[str, tuple[str, object]] = {
    "polling.interval": ("15m", 900.0),
    "polling.timeout": ("45", 45.0),
    "polling.max_bytes": ("2048", 2048),
    "polling.concurrency": ("3", 3),
    "polling.max_redirects": ("0", 0),
    "polling.max_items": ("250", 250),
    "polling.user_agent": ("my-reader/1.0", "my-reader/1.0"),
    "polling.worker_processes": ("0", 0),
    "polling.fingerprint_worker": ("yes", True),
    "dedup.window": ("2d", 172800.0),
    "dedup.threshold": ("0.7", 0.7),
    "dedup.containment": ("0.9", 0.9),
    "server.host": ("0.0.0.0", "0.0.0.0"),
    "server.port": ("8081", 8081),
    "server.token": ("123456", "123456"),
    "server.base_url": ("https://news.example.org", "https://news.example.org"),
    "server.allowed_hosts": (
        "news.example.org, *.example.net",
        ("news.example.org", "*.example.net"),
    ),
    "server.max_item_bytes": ("4096", 4096),
    "server.unhealthy_after": ("7", 7),
    "fetch.allow_private": ("true", True),
    "fetch.allow_networks": ("10.1.2.0/24", ("10.1.2.0/24",)),
    "fetch.local_files": ("off", False),
    "retention.max_age": ("30", 30.0),
}
"""A value written as an environment variable's text, and the setting it must give."""


def _section_rows() -> list[tuple[str, str, str]]:
    return [row for row in environment_settings() if "." in row[1]]


def test_every_section_setting_has_an_environment_variable_and_a_sample() -> None:
    keys = {key for _, key, _ in _section_rows()}
    assert keys == set(SAMPLES), "a setting without a sample here, or a sample without one"
    for variable, key, _ in _section_rows():
        section, name = key.split(".")
        assert variable == f"AGGREGATOR_{section.upper()}_{name.upper()}"


@pytest.mark.parametrize(("variable", "key", "kind"), _section_rows())
def test_each_setting_comes_from_its_variable_typed_as_in_the_file(
    variable: str, key: str, kind: str
) -> None:
    text, expected = SAMPLES[key]
    settings = settings_from_mapping({"database": "sqlite:///x.db"}, None, {variable: text})
    section, name = key.split(".")
    assert getattr(getattr(settings, section), name) == expected


def test_the_environment_beats_the_file_and_an_empty_variable_is_unset(tmp_path: Path) -> None:
    path = _write(tmp_path / "config.yaml", "server:\n  port: 9000\n  token: from-file\n")
    settings, _ = load_config(str(path), {"AGGREGATOR_SERVER_PORT": "9100"})
    assert (settings.server.port, settings.server.token) == (9100, "from-file")
    settings, _ = load_config(str(path), {"AGGREGATOR_SERVER_PORT": ""})
    assert settings.server.port == 9000


@pytest.mark.parametrize(
    ("variable", "text", "message"),
    [
        ("AGGREGATOR_SERVER_PORT", "eighty", "expected a whole number, got 'eighty'"),
        ("AGGREGATOR_SERVER_PORT", "70000", "must be at most 65535"),
        ("AGGREGATOR_POLLING_INTERVAL", "soon", "expected a duration"),
        ("AGGREGATOR_FETCH_ALLOW_PRIVATE", "maybe", "expected true or false, got 'maybe'"),
        ("AGGREGATOR_DEDUP_THRESHOLD", "high", "expected a number between 0 and 1"),
        ("AGGREGATOR_FETCH_ALLOW_NETWORKS", "10.1.2.0/24,nonsense", "expected a network"),
    ],
)
def test_a_bad_variable_is_refused_as_the_file_would_be_naming_the_variable(
    variable: str, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({}, None, {variable: text})
    assert caught.value.key.startswith(variable) and message in caught.value.message


def test_a_misspelt_variable_of_a_known_section_is_an_error_listing_the_right_names() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({}, None, {"AGGREGATOR_SERVER_PROT": "8081"})
    assert caught.value.key == "AGGREGATOR_SERVER_PROT"
    assert "AGGREGATOR_SERVER_PORT" in caught.value.message
    assert "AGGREGATOR_POLLING_INTERVAL" not in caught.value.message
    # Variables of no section are other programs' (and the test suite's own): left alone.
    settings_from_mapping({}, None, {"AGGREGATOR_TEST_PG": "1"})


def test_the_file_mapping_handed_in_is_not_changed() -> None:
    raw = {"server": {"port": 9000}}
    settings_from_mapping(raw, None, {"AGGREGATOR_SERVER_PORT": "9100"})
    assert raw == {"server": {"port": 9000}}


def test_the_cli_takes_the_token_and_port_from_the_environment(tmp_path: Path, cli: Cli) -> None:
    """Issue 16: only the config path and the database URL could be set from the
    environment; the token and port could not."""
    _write(tmp_path / "config.yaml", "feeds: []\n")
    bad = cli("feeds", "list", cwd=tmp_path, env={"AGGREGATOR_SERVER_PORT": "http"})
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == (
        "aggregator: config: AGGREGATOR_SERVER_PORT (server.port): "
        "expected a whole number, got 'http'\n"
    )
    good = cli(
        "feeds",
        "list",
        cwd=tmp_path,
        env={"AGGREGATOR_SERVER_PORT": "8765", "AGGREGATOR_SERVER_TOKEN": "s3cret-token"},
    )
    assert good.returncode == 0, good.stderr


def test_the_cli_reads_the_users_config_directory(tmp_path: Path, cli: Cli) -> None:
    conf = _write(
        tmp_path / "xdg" / "aggregator" / "config.yaml", "database: sqlite:///from-xdg.db\n"
    )
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    result = cli("feeds", "list", cwd=cwd, env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert result.returncode == 0 and result.stderr == ""
    assert (conf.parent / "from-xdg.db").is_file()


def test_the_readme_lists_every_environment_variable() -> None:
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [v for v, _, _ in environment_settings() if f"`{v}`" not in readme]
    assert not missing, f"not in the README's environment table: {missing}"
