"""Run the real pipeline over feed files written into a temporary folder; run the
``aggregator`` command in this process."""

from __future__ import annotations

import ctypes
import logging
import os
import random
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from starlette.testclient import TestClient

from aggregator.cli import main
from aggregator.config import settings_from_mapping
from aggregator.ingest.pipeline import Pipeline
from aggregator.storage import Storage

if TYPE_CHECKING:
    from logging import _FilterType  # typeshed's name for what Logger.filters holds


def pipeline_for(database_url: str, feed_paths: list[Path], **dedup: object) -> Pipeline:
    """A pipeline as the command line makes one: it decides only while no other does, and
    gives the lease back after each operation (so a second one, a "restart", can decide)."""
    settings = settings_from_mapping(
        {
            "database": database_url,
            "feeds": [{"url": str(p)} for p in feed_paths],
            **({"dedup": dedup} if dedup else {}),
        },
        None,
    )
    pipeline = Pipeline(Storage(database_url), settings, keep_lease=False)
    pipeline.start()
    return pipeline


def clusters_by_guid(pipeline: Pipeline) -> dict[str, int | None]:
    return {item.guid: item.cluster_id for item in pipeline.storage.list_items()}


def partition(pipeline: Pipeline) -> set[frozenset[str]]:
    """The clustering as a set of guid sets (independent of cluster ids)."""
    groups: dict[int | None, set[str]] = {}
    for guid, cluster in clusters_by_guid(pipeline).items():
        groups.setdefault(cluster, set()).add(guid)
    return {frozenset(g) for g in groups.values()}


def check_consistency(pipeline: Pipeline) -> None:
    """Every item in exactly one cluster; every cluster's size, canonical member right."""
    items = pipeline.storage.list_items()
    assert all(item.cluster_id is not None for item in items), "an item has no cluster"
    by_cluster: dict[int, list[int]] = {}
    for item in items:
        assert item.cluster_id is not None
        by_cluster.setdefault(item.cluster_id, []).append(item.id)
    clusters = pipeline.storage.list_clusters(min_size=1)
    assert {c.id for c in clusters} == set(by_cluster), "empty or missing cluster rows"
    for cluster in clusters:
        assert cluster.size == len(by_cluster[cluster.id])
        assert cluster.canonical_item_id in by_cluster[cluster.id]
        assert sum(1 for m in cluster.members if m.canonical) == 1


# -- the CLI, in this process ----------------------------------------------------------------


@dataclass(frozen=True)
class CliResult:
    """What ``aggregator ARGS`` left behind, as a finished process would show it."""

    returncode: int
    stdout: str
    stderr: str


@dataclass
class _LoggerState:
    level: int
    propagate: bool
    disabled: bool
    handlers: list[logging.Handler]
    filters: list[_FilterType]

    @classmethod
    def of(cls, logger: logging.Logger) -> _LoggerState:
        return cls(
            logger.level,
            logger.propagate,
            logger.disabled,
            list(logger.handlers),
            list(logger.filters),
        )

    def restore(self, logger: logging.Logger) -> None:
        logger.setLevel(self.level)
        logger.propagate = self.propagate
        logger.disabled = self.disabled
        logger.handlers[:] = self.handlers
        logger.filters[:] = self.filters


def _loggers() -> dict[str, logging.Logger]:
    named = {
        name: logger
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    return {"": logging.getLogger(), **named}


_FRESH = _LoggerState(logging.NOTSET, True, False, [], [])
_M_ARENA_MAX = -8  # glibc's mallopt parameter; 0 gives back its default (cores × 8)


@contextmanager
def restored_logging() -> Iterator[None]:
    """Whatever the block does to the logging configuration (levels, handlers, filters of
    any logger) is undone at its end."""
    loggers = {name: _LoggerState.of(logger) for name, logger in _loggers().items()}
    try:
        yield
    finally:
        for name, logger in _loggers().items():
            loggers.get(name, _FRESH).restore(logger)


class Cli:
    """``aggregator ARGS`` run in this process through :func:`aggregator.cli.main`, as the
    user's shell would run it: in ``cwd``, with no ``AGGREGATOR_*`` variable but those in
    ``env``, with the logging a new process has (nothing configured: ``main`` sets up its
    own stderr handler); its stdout and stderr captured.

    ``main`` changes process-wide state a real process would simply take with it when it
    exits; each call puts that back, so no test sees another's: the logging configuration
    (``basicConfig``'s handler on a captured stream that is gone after the test, the levels
    and filters the daemon sets), the SIGTERM/SIGINT handlers (``run``), the working
    directory and the environment (which ``main`` must itself leave alone: checked), and
    glibc's malloc arena cap (``limit_malloc_arenas``).
    """

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def __call__(
        self, *args: str, cwd: Path, env: Mapping[str, str] | None = None, check: bool = False
    ) -> CliResult:
        self._capsys.readouterr()  # what the test printed before is not the command's
        handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
        try:
            with restored_logging(), pytest.MonkeyPatch.context() as patch:
                patch.chdir(cwd)
                for name in [n for n in os.environ if n.startswith("AGGREGATOR_")]:
                    patch.delenv(name)
                for name, value in (env or {}).items():
                    patch.setenv(name, value)
                logging.getLogger().handlers.clear()
                logging.getLogger().setLevel(logging.WARNING)
                environ = dict(os.environ)
                returncode = _exit_status(args)
                assert dict(os.environ) == environ, "main() changed the environment"
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
            _restore_malloc_arenas()
        out, err = self._capsys.readouterr()
        result = CliResult(returncode, out, err)
        if check and returncode != 0:
            raise AssertionError(f"aggregator {' '.join(args)} exited {returncode}: {err}")
        return result


def _exit_status(args: Sequence[str]) -> int:
    """``main``'s return value, or the status a ``SystemExit`` (argparse) would exit with."""
    try:
        return main(list(args))
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1


def _restore_malloc_arenas() -> None:
    if "MALLOC_ARENA_MAX" in os.environ:  # then main() left the cap alone, as glibc set it
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return
    mallopt(_M_ARENA_MAX, 0)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_port() -> int:
    """A TCP port free on 127.0.0.1 now and below the kernel's ephemeral range, for a
    server that is stopped and started again on it: a port from that range can be taken
    meanwhile as the local end of any outgoing connection (a parallel test's fetches), and
    the restart then fails to listen."""
    low = _ephemeral_low()
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it is true (returning its value) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def web_client(app: Any) -> TestClient:
    """Starlette's test client naming ``localhost``, a host every web face serves (its own
    default, ``testserver``, is refused like any unknown Host)."""
    return TestClient(app, base_url="http://localhost")
