"""Load and validate ``config.yaml`` into typed, immutable settings.

Every problem raises :class:`ConfigError` naming the key (``feeds[2].interval``)
and what is wrong with it; the CLI turns that into one line and exit status 2.
Settings are values passed down, never a global.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from aggregator.errors import ConfigError, mask_secrets
from aggregator.types import FeedSpec

CONFIG_ENV = "AGGREGATOR_CONFIG"
DATABASE_ENV = "AGGREGATOR_DATABASE_URL"
BROKER_ENV = "AGGREGATOR_BROKER_URL"
DEFAULT_CONFIG = "config.yaml"
SYSTEM_CONFIG = Path("/etc/aggregator/config.yaml")
ENV_PREFIX = "AGGREGATOR_"
"""``AGGREGATOR_SECTION_KEY`` sets ``section.key`` (``AGGREGATOR_SERVER_PORT=8081``)."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION = 365 * 86400
MAX_INT = 2**31 - 1
"""No whole number in the config may exceed what a 32-bit database column holds (a
priority of 10**23 would pass validation and then fail every poll)."""
MAX_PRIORITY = 1_000_000


@dataclass(frozen=True)
class PollingConfig:
    interval: float = 30 * 60
    timeout: float = 30.0
    max_bytes: int = 10 * 1024 * 1024
    concurrency: int = 8
    max_redirects: int = 5
    max_items: int = 5000
    """Items kept from one document (its first ones); the feed's status says how many
    more it had."""
    user_agent: str | None = None
    worker_processes: int = field(default_factory=lambda: int((os.cpu_count() or 1) > 1))
    """Child process for reading documents (0: all in the writer; at most 1)."""
    fingerprint_worker: bool = False
    """Fingerprint a large batch of new items (≥ 500) in a child process too, beside the
    writer (only where ``worker_processes`` allows a child): a cold poll of 10,000 items
    takes ~15 % less time and ~30 MB more memory (the child's numpy) while it decides."""


@dataclass(frozen=True)
class DedupConfig:
    window: float = 7 * 86400
    """Publication-time window of the candidate index, in seconds."""
    threshold: float = 0.5
    """Verified Jaccard similarity above which two full texts are one story."""
    containment: float = 0.8
    """Share of a short text's shingles found in a longer one for it to be its summary."""


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Host names every web face answers unless ``server.allowed_hosts`` says otherwise."""
_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    token: str | None = None
    base_url: str | None = None
    """The site's public address (``https://news.example.org``, no trailing slash): every
    absolute URL the web face writes starts with it, whatever Host a request names."""
    allowed_hosts: tuple[str, ...] | None = None
    """Host names (``*.example.org`` for subdomains) a request may name; any other Host
    answers 400.  None: :data:`LOOPBACK_HOSTS` and ``host`` (unless a wildcard address),
    and with ``base_url`` set, any."""
    max_item_bytes: int = 256 * 1024
    """Published content of one entry is cut to this many bytes (UTF-8), with a link to
    the original."""
    unhealthy_after: int = 3
    """``/healthz`` answers 503 once a writer job (polling, deciding) failed this many
    cycles in a row."""

    def hosts_allowed(self) -> tuple[str, ...] | None:
        """The Host names accepted (lower case), or None for any."""
        if self.allowed_hosts is not None:
            return self.allowed_hosts
        if self.base_url is not None:
            return None
        extra = () if self.host in _WILDCARD_HOSTS else (self.host.lower(),)
        return tuple(dict.fromkeys((*LOOPBACK_HOSTS, *extra)))


@dataclass(frozen=True)
class FetchConfig:
    """The fetch policy's settings (see :mod:`aggregator.fetch.policy`)."""

    allow_private: bool = False
    """Any address may be reached by any feed and any redirect (private, loopback and
    link-local ones included)."""
    allow_networks: tuple[str, ...] = ()
    """Networks (CIDR) treated as public: feeds from outside the config file may use them,
    and redirects from public addresses may lead there."""
    local_files: bool = True
    """Paths and ``file://`` URLs are read for config-file (and ``feeds add``) feeds."""


@dataclass(frozen=True)
class RetentionConfig:
    max_age: float | None = None
    """Days after which an item is dropped, with its cluster, once every member of that
    cluster is that old (None: items are kept for ever)."""


@dataclass(frozen=True)
class Settings:
    path: Path | None
    database: str
    feeds: tuple[FeedSpec, ...] = ()
    polling: PollingConfig = field(default_factory=PollingConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    broker: str | None = None
    """The task broker of a multi-process installation (``amqp://…`` RabbitMQ or
    ``redis://…``): the decider hands due feeds to ``aggregator worker`` processes."""


def parse_duration(value: object, key: str) -> float:
    """``90``, ``"90s"``, ``"15m"``, ``"2h"``, ``"1d"`` → seconds (> 0)."""
    if isinstance(value, bool):
        raise ConfigError(key, f"expected a duration like 90s, 15m or 2h, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ConfigError(key, f"expected a duration like 90s, 15m or 2h, got {value!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(key, f"must be a finite duration greater than zero, got {value!r}")
    if seconds > MAX_DURATION:
        raise ConfigError(key, f"must be at most 365d, got {value!r}")
    return seconds


def config_search(env: Mapping[str, str]) -> tuple[Path, ...]:
    """Where a config file is looked for when neither ``--config`` nor
    ``$AGGREGATOR_CONFIG`` names one, first found wins: the current directory, the
    user's config directory (XDG), the system's."""
    return (
        Path(DEFAULT_CONFIG),
        _xdg_dir(env, "XDG_CONFIG_HOME", ".config") / "aggregator" / DEFAULT_CONFIG,
        SYSTEM_CONFIG,
    )


def find_config(explicit: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """The config file to read: ``--config``, else ``$AGGREGATOR_CONFIG`` (either must
    exist: naming a file that is not there is a mistake), else the first of
    :func:`config_search` that exists; None when there is none (run on defaults)."""
    env = os.environ if env is None else env
    named = explicit or env.get(CONFIG_ENV)
    if named:
        return Path(named)
    return next((path for path in config_search(env) if path.is_file()), None)


def user_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the database lives when no config file says: ``$XDG_DATA_HOME/aggregator``
    (by default ``~/.local/share/aggregator``)."""
    return _xdg_dir(os.environ if env is None else env, "XDG_DATA_HOME", ".local/share") / (
        "aggregator"
    )


def _xdg_dir(env: Mapping[str, str], name: str, default: str) -> Path:
    # The XDG rule: a relative value is invalid and ignored.
    value = env.get(name, "")
    if value and Path(value).is_absolute():
        return Path(value)
    return Path(env.get("HOME") or Path.home()) / default


def default_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings without a config file: every default, the environment's overrides,
    and an SQLite database in :func:`user_data_dir`."""
    env = os.environ if env is None else env
    database = f"sqlite:///{user_data_dir(env) / 'aggregator.db'}"
    return settings_from_mapping({"database": database}, None, env)


def load_config(
    explicit: str | None, env: Mapping[str, str] | None = None
) -> tuple[Settings, str | None]:
    """The settings the command line runs on (:func:`find_config`), and, when no config
    file was found, the one line that says so."""
    env = os.environ if env is None else env
    path = find_config(explicit, env)
    if path is not None:
        try:
            return load_settings(path, env), None
        except ConfigError as exc:
            if exc.key == "--config" and not explicit and env.get(CONFIG_ENV):
                raise ConfigError(CONFIG_ENV, exc.message) from None  # the variable named it
            raise
    settings = default_settings(env)
    looked = ", ".join(_shown(p) for p in config_search(env))
    database = settings.database
    if database.startswith("sqlite:///") and not env.get(DATABASE_ENV):
        database = _shown(Path(database.removeprefix("sqlite:///")))
    return settings, (
        f"no config file (looked for {looked}); running on defaults, "
        f"database {mask_secrets(database)}"
    )


def _shown(path: Path) -> str:
    home = str(Path.home())
    text = str(path)
    if not path.is_absolute():
        return f"./{text}"
    return "~" + text[len(home) :] if text.startswith(home + os.sep) else text


def load_settings(path: Path, env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the config file at ``path``; env overrides apply."""
    env = os.environ if env is None else env
    try:
        raw_text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("--config", f"file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), f"not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise ConfigError("--config", f"cannot read {path}: {exc.strerror}") from exc
    try:
        raw = yaml.safe_load(raw_text)
    except RecursionError:
        # A hostile or broken file nesting thousands of levels: one line, not a traceback.
        raise ConfigError(str(path), "not valid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(str(path), f"not valid YAML{where}") from exc
    return settings_from_mapping(raw if raw is not None else {}, path, env)


def settings_from_mapping(
    raw: object, path: Path | None, env: Mapping[str, str] | None = None
) -> Settings:
    env = os.environ if env is None else env
    top, from_env = _with_environment(_mapping(raw, "config"), env)
    try:
        return _settings(top, path, env)
    except ConfigError as exc:
        setting = exc.key.split("[", 1)[0]  # fetch.allow_networks[1]: one list's item
        if setting in from_env:  # name the variable that holds the bad value
            raise ConfigError(f"{from_env[setting]} ({exc.key})", exc.message) from None
        raise


def _settings(top: dict[str, Any], path: Path | None, env: Mapping[str, str]) -> Settings:
    base = (path.parent if path is not None else Path.cwd()).resolve()
    _known(
        top,
        "",
        {"database", "feeds", "polling", "dedup", "server", "broker", "fetch", "retention"},
    )

    database = env.get(DATABASE_ENV) or top.get("database")
    if database is None:
        database = f"sqlite:///{base / 'aggregator.db'}"
    elif not isinstance(database, str) or "://" not in database:
        raise ConfigError(
            "database",
            "expected an SQLAlchemy URL such as sqlite:///aggregator.db, "
            f"got {mask_secrets(repr(database))}",
        )
    database = _resolve_sqlite_path(database, base)

    broker = env.get(BROKER_ENV) or top.get("broker")
    if broker is not None and (
        not isinstance(broker, str) or broker.split("://", 1)[0] not in ("amqp", "redis")
    ):
        raise ConfigError(
            "broker",
            "expected a RabbitMQ (amqp://) or Redis (redis://) URL, "
            f"got {mask_secrets(repr(broker))}",
        )

    feeds_raw = top.get("feeds") or []
    if not isinstance(feeds_raw, list):
        raise ConfigError("feeds", f"expected a list of feeds, got {type(feeds_raw).__name__}")
    feeds = tuple(_feed(entry, f"feeds[{i}]", base) for i, entry in enumerate(feeds_raw))
    seen: dict[str, int] = {}
    for i, feed in enumerate(feeds):
        if feed.url in seen:
            raise ConfigError(
                f"feeds[{i}].url", f"duplicate of feeds[{seen[feed.url]}]: {feed.url}"
            )
        seen[feed.url] = i

    dedup = _dedup(top.get("dedup"), "dedup")
    return Settings(
        path=path,
        database=database,
        feeds=feeds,
        polling=_polling(top.get("polling"), "polling"),
        dedup=dedup,
        server=_server(top.get("server"), "server"),
        fetch=_fetch(top.get("fetch"), "fetch"),
        retention=_retention(top.get("retention"), "retention", dedup.window),
        broker=broker,
    )


def _sections() -> dict[str, type]:
    """The config file's sections, each with the dataclass that holds its settings."""
    return {
        "polling": PollingConfig,
        "dedup": DedupConfig,
        "server": ServerConfig,
        "fetch": FetchConfig,
        "retention": RetentionConfig,
    }


def environment_settings() -> list[tuple[str, str, str]]:
    """Every setting the environment may give: ``(variable, key, kind)``, kind being
    how the variable's text is read (see :func:`_from_text`)."""
    rows = [
        (CONFIG_ENV, "(the config file's path)", "text"),
        (DATABASE_ENV, "database", "text"),
        (BROKER_ENV, "broker", "text"),
    ]
    for section, holder in _sections().items():
        for item in fields(holder):
            kind = _kind(str(item.type))
            rows.append(
                (
                    f"{ENV_PREFIX}{section.upper()}_{item.name.upper()}",
                    f"{section}.{item.name}",
                    kind,
                )
            )
    return rows


def _kind(annotation: str) -> str:
    if annotation.startswith("tuple["):
        return "list"
    return {"bool": "flag", "int": "whole", "float": "number"}.get(
        annotation.removesuffix(" | None"), "text"
    )


_FLAG_WORDS = {"true": True, "yes": True, "on": True, "1": True}
_FLAG_WORDS |= {"false": False, "no": False, "off": False, "0": False}


def _from_text(text: str, kind: str) -> object:
    """A variable's text as the YAML value it stands for; text that is not of the kind
    stays text, for the section's own check to refuse with its usual message."""
    value = text.strip()
    if kind == "list":
        return [part.strip() for part in value.split(",") if part.strip()]
    if kind == "flag":
        return _FLAG_WORDS.get(value.lower(), value)
    if kind == "whole" and re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value  # a duration such as 15m, or a mistake the section names
    return value


def _with_environment(
    top: dict[str, Any], env: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """A copy of the config's mapping with every ``AGGREGATOR_SECTION_KEY`` variable set
    in ``env`` (and not empty) in place of the file's value; and which keys came from
    which variable.  A variable naming a section but no key of it is a mistake."""
    merged = dict(top)
    from_env: dict[str, str] = {}
    known = {variable: key for variable, key, _ in environment_settings()}
    kinds = {variable: kind for variable, _, kind in environment_settings()}
    prefixes = tuple(f"{ENV_PREFIX}{section.upper()}_" for section in _sections())
    for variable in sorted(env):
        text = env[variable]
        if not variable.startswith(prefixes) or not text:
            continue
        key = known.get(variable)
        if key is None:
            prefix = next(p for p in prefixes if variable.startswith(p))
            raise ConfigError(
                variable,
                "unknown setting (expected one of: "
                + ", ".join(v for v in known if v.startswith(prefix))
                + ")",
            )
        section, name = key.split(".", 1)
        if section in merged and merged[section] is not None:
            original = _mapping(merged[section], section)
        else:
            original = {}
        merged[section] = {**original, name: _from_text(text, kinds[variable])}
        from_env[key] = variable
    return merged, from_env


def resolve_feed_url(url: str, base: Path) -> str:
    """http(s) and file:// URLs stay as written; a bare path becomes a path relative to ``base``."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https", "file"):
        return url
    if scheme and len(scheme) > 1:
        raise ConfigError("url", f"unsupported scheme {scheme!r} (use http, https, file or a path)")
    return str((base / url).resolve())


def _resolve_sqlite_path(url: str, base: Path) -> str:
    # sqlite:///relative.db is relative to the config file, not to the current directory,
    # so the daemon finds the same database wherever it is started from.
    scheme, sep, rest = url.partition(":///")
    is_sqlite = scheme == "sqlite" or scheme.startswith("sqlite+")
    if sep and is_sqlite and rest and not rest.startswith("/") and ":memory:" not in rest:
        return f"{scheme}:///{base / rest}"
    return url


def _mapping(value: object, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(key, f"expected a mapping, got {type(value).__name__}")
    return value


def _known(section: Mapping[str, Any], prefix: str, allowed: set[str]) -> None:
    for key in section:
        if key not in allowed:
            where = f"{prefix}.{key}" if prefix else str(key)
            raise ConfigError(where, f"unknown key (expected one of: {', '.join(sorted(allowed))})")


def _string(value: object, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, f"expected a non-empty string, got {value!r}")
    return value.strip()


def _int(value: object, key: str, minimum: int, maximum: int = MAX_INT) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"expected a whole number, got {value!r}")
    if value < minimum:
        raise ConfigError(key, f"must be at least {minimum}, got {value}")
    if value > maximum:
        raise ConfigError(key, f"must be at most {maximum}, got {value}")
    return value


def _flag(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"expected true or false, got {value!r}")
    return value


def _fraction(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ConfigError(key, f"expected a number between 0 and 1, got {value!r}")
    return float(value)


def _feed(raw: object, key: str, base: Path) -> FeedSpec:
    if isinstance(raw, str):
        raw = {"url": raw}
    entry = _mapping(raw, key)
    _known(entry, key, {"url", "name", "group", "interval", "priority", "clean", "dedup"})
    if "url" not in entry:
        raise ConfigError(f"{key}.url", "missing (every feed needs a url)")
    try:
        url = resolve_feed_url(_string(entry["url"], f"{key}.url"), base)
    except ConfigError as exc:
        raise ConfigError(f"{key}.url", exc.message) from None
    return FeedSpec(
        url=url,
        name=_string(entry["name"], f"{key}.name") if entry.get("name") is not None else None,
        group=_string(entry["group"], f"{key}.group") if entry.get("group") is not None else None,
        interval=parse_duration(entry["interval"], f"{key}.interval")
        if entry.get("interval") is not None
        else None,
        priority=_int(
            entry.get("priority", 0), f"{key}.priority", minimum=-1000, maximum=MAX_PRIORITY
        ),
        clean=_flag(entry.get("clean", True), f"{key}.clean"),
        dedup=_flag(entry.get("dedup", True), f"{key}.dedup"),
    )


def _polling(raw: object, key: str) -> PollingConfig:
    if raw is None:
        return PollingConfig()
    section = _mapping(raw, key)
    _known(
        section,
        key,
        {
            "interval",
            "timeout",
            "max_bytes",
            "concurrency",
            "max_redirects",
            "max_items",
            "user_agent",
            "worker_processes",
            "fingerprint_worker",
        },
    )
    default = PollingConfig()
    return PollingConfig(
        interval=parse_duration(section.get("interval", default.interval), f"{key}.interval"),
        timeout=parse_duration(section.get("timeout", default.timeout), f"{key}.timeout"),
        max_bytes=_int(section.get("max_bytes", default.max_bytes), f"{key}.max_bytes", 1024),
        concurrency=_int(section.get("concurrency", default.concurrency), f"{key}.concurrency", 1),
        max_redirects=_int(
            section.get("max_redirects", default.max_redirects), f"{key}.max_redirects", 0
        ),
        max_items=_int(section.get("max_items", default.max_items), f"{key}.max_items", 1),
        user_agent=_string(section["user_agent"], f"{key}.user_agent")
        if section.get("user_agent") is not None
        else None,
        worker_processes=min(
            1,
            _int(
                section.get("worker_processes", default.worker_processes),
                f"{key}.worker_processes",
                0,
            ),
        ),
        fingerprint_worker=_flag(
            section.get("fingerprint_worker", default.fingerprint_worker),
            f"{key}.fingerprint_worker",
        ),
    )


def _dedup(raw: object, key: str) -> DedupConfig:
    if raw is None:
        return DedupConfig()
    section = _mapping(raw, key)
    _known(section, key, {"window", "threshold", "containment"})
    default = DedupConfig()
    return DedupConfig(
        window=parse_duration(section.get("window", default.window), f"{key}.window"),
        threshold=_fraction(section.get("threshold", default.threshold), f"{key}.threshold"),
        containment=_fraction(
            section.get("containment", default.containment), f"{key}.containment"
        ),
    )


def _server(raw: object, key: str) -> ServerConfig:
    if raw is None:
        return ServerConfig()
    section = _mapping(raw, key)
    _known(
        section,
        key,
        {
            "host",
            "port",
            "token",
            "base_url",
            "allowed_hosts",
            "max_item_bytes",
            "unhealthy_after",
        },
    )
    port = _int(section.get("port", 8080), f"{key}.port", 0)
    if port > 65535:
        raise ConfigError(f"{key}.port", f"must be at most 65535, got {port}")
    default = ServerConfig()
    return ServerConfig(
        base_url=_base_url(section.get("base_url"), f"{key}.base_url"),
        allowed_hosts=_hosts(section.get("allowed_hosts"), f"{key}.allowed_hosts"),
        max_item_bytes=_int(
            section.get("max_item_bytes", default.max_item_bytes),
            f"{key}.max_item_bytes",
            1024,
        ),
        unhealthy_after=_int(
            section.get("unhealthy_after", default.unhealthy_after),
            f"{key}.unhealthy_after",
            1,
            1000,
        ),
        host=_string(section.get("host", "127.0.0.1"), f"{key}.host"),
        port=port,
        token=_string(section["token"], f"{key}.token")
        if section.get("token") is not None
        else None,
    )


def _base_url(value: object, key: str) -> str | None:
    if value is None:
        return None
    text = _string(value, key)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            key, f"expected an http(s) URL like https://news.example.org, got {text!r}"
        )
    if parts.query or parts.fragment or "@" in parts.netloc or parts.path.rstrip("/"):
        raise ConfigError(
            key, f"expected a scheme and host only (no path, user, query), got {text!r}"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


_HOST_NAME = re.compile(r"^(?:\*\.)?[a-z0-9_.:\[\]-]+$")


def _hosts(value: object, key: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ConfigError(key, f"expected a list of host names, got {type(value).__name__}")
    hosts: list[str] = []
    for i, raw in enumerate(value):
        where = f"{key}[{i}]"
        host = _string(raw, where).lower()
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if host != "*" and not _HOST_NAME.match(host):
            raise ConfigError(where, f"expected a host name like news.example.org, got {raw!r}")
        hosts.append(host)
    return tuple(hosts)


def _fetch(raw: object, key: str) -> FetchConfig:
    if raw is None:
        return FetchConfig()
    section = _mapping(raw, key)
    _known(section, key, {"allow_private", "allow_networks", "local_files"})
    networks_raw = section.get("allow_networks") or []
    if not isinstance(networks_raw, list):
        raise ConfigError(
            f"{key}.allow_networks",
            f"expected a list of networks like 10.1.2.0/24, got {type(networks_raw).__name__}",
        )
    networks: list[str] = []
    for i, value in enumerate(networks_raw):
        where = f"{key}.allow_networks[{i}]"
        try:
            network = ipaddress.ip_network(_string(value, where), strict=False)
        except ValueError:
            raise ConfigError(
                where, f"expected a network like 10.1.2.0/24 or fd00::/8, got {value!r}"
            ) from None
        networks.append(str(network))
    return FetchConfig(
        allow_private=_flag(section.get("allow_private", False), f"{key}.allow_private"),
        allow_networks=tuple(networks),
        local_files=_flag(section.get("local_files", True), f"{key}.local_files"),
    )


MAX_RETENTION_DAYS = 36_500


def retention_days(value: object, key: str, window: float) -> float:
    """A retention age in days (``30``, ``"30d"``, ``"12h"``): finite, above zero, and
    no shorter than the dedup ``window`` (seconds), so that every item retention drops is
    already out of the window the dedup engine compares new items with."""
    if isinstance(value, bool):
        raise ConfigError(key, f"expected a number of days like 30, got {value!r}")
    if isinstance(value, int | float):
        days = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        days = float(match.group(1)) * _UNITS[match.group(2) or "d"] / 86400
    else:
        raise ConfigError(key, f"expected a number of days like 30, got {value!r}")
    if not math.isfinite(days) or days <= 0:
        raise ConfigError(key, f"must be a number of days greater than zero, got {value!r}")
    if days > MAX_RETENTION_DAYS:
        raise ConfigError(key, f"must be at most {MAX_RETENTION_DAYS} days, got {value!r}")
    if days * 86400 < window:
        raise ConfigError(
            key,
            f"must be at least the dedup window ({_days(window)} days, dedup.window): "
            f"items are compared with new ones that long, got {value!r}",
        )
    return days


def _days(seconds: float) -> str:
    return f"{seconds / 86400:g}"


def _retention(raw: object, key: str, window: float) -> RetentionConfig:
    if raw is None:
        return RetentionConfig()
    section = _mapping(raw, key)
    _known(section, key, {"max_age"})
    value = section.get("max_age")
    if value is None:
        return RetentionConfig()
    return RetentionConfig(max_age=retention_days(value, f"{key}.max_age", window))
