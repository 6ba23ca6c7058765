"""The ``aggregator`` command: thin verbs over config, storage and the pipeline.

``main`` reads the config, checks that the database can be opened, and maps errors to
exit statuses; :mod:`.parser` builds the command line; :mod:`.verbs` holds what each
verb does.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from aggregator.cli.parser import parser
from aggregator.cli.verbs import Handler
from aggregator.config import load_config
from aggregator.errors import AggregatorError, ConfigError, DatabaseUnusable, StorageError
from aggregator.ingest.memory import limit_malloc_arenas


def main(argv: Sequence[str] | None = None) -> int:
    limit_malloc_arenas()
    command_line = parser()
    args = command_line.parse_args(argv)
    if not getattr(args, "handler", None):
        command_line.print_help()
        return 2
    logging.basicConfig(
        level=logging.DEBUG
        if args.verbose > 1
        else logging.INFO
        if args.verbose
        else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        settings, on_defaults = load_config(args.config)
    except ConfigError as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
        return 2
    if on_defaults:
        print(f"aggregator: {on_defaults}", file=sys.stderr)
        _make_data_dir(settings.database)
    try:
        _check_database(settings.database)
        handler: Handler = args.handler
        return handler(args, settings)
    except (ConfigError, DatabaseUnusable) as exc:
        # Startup errors: one line, status 2 (the message masks any password).
        print(f"aggregator: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
        return 1
    except AggregatorError as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `aggregator items list | head`: the reader left; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _check_database(database: str) -> None:
    """Connect once before the verb runs.  A database that cannot be reached or opened
    (nothing listens, an unknown role, a missing database, an SQLite file in a folder that
    does not exist) is a startup error — one line, status 2 — not the failure of the verb's
    first statement (status 1, kept for errors once the verb is under way); and ``run``
    reports it before its banner."""
    from aggregator.storage import Storage

    storage = Storage(database)  # an unknown driver raises DatabaseUnusable here
    try:
        # Reads only: no schema yet is the verb's to make; one newer than this version
        # knows is refused here, before ``run`` prints its banner.
        storage.known_schema_revision()
    except DatabaseUnusable:
        raise  # already the one line it should be
    except StorageError as exc:
        cause = exc.__cause__ or exc  # the driver's reason, as the unknown-driver line has
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        raise DatabaseUnusable(
            f"storage: cannot open database {database!r}: {cause.__class__.__name__}: {reason}"
        ) from exc
    finally:
        storage.close()


def _make_data_dir(database: str) -> None:
    """The folder of the default SQLite database: a first run makes it, as SQLite makes
    the file but not its folder."""
    scheme, sep, rest = database.partition(":///")
    if sep and scheme.startswith("sqlite") and rest.startswith("/"):
        Path(rest).parent.mkdir(parents=True, exist_ok=True)
