"""``aggregator users add|list|remove|revoke|passwd``: the people who read through the
Google Reader and Fever APIs (``/api/greader``, ``/api/fever/``)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from typing import Any

from aggregator.cli.verbs import cut, limited
from aggregator.config import Settings
from aggregator.publish.accounts import digest, fever_api_key, hash_password
from aggregator.publish.views import table

Verb = Callable[[Any, str, Callable[[argparse.Namespace, Settings], int], str], Any]


def register(nouns: Any, verb: Verb) -> None:
    """Add the ``users`` noun and its verbs to the command line."""
    users = nouns.add_parser("users", help="reader-app users").add_subparsers(metavar="ACTION")
    add = verb(users, "add", users_add, "add a user (password read from standard input)")
    add.add_argument("name", metavar="NAME")
    add.add_argument(
        "--fever",
        action="store_true",
        help="also allow the Fever API (it authenticates with an MD5 of name:password)",
    )
    listing = verb(users, "list", users_list, "list users")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    limited(listing, "users")
    remove = verb(users, "remove", users_remove, "remove a user, their tokens and read state")
    remove.add_argument("name", metavar="NAME")
    revoke = verb(users, "revoke", users_revoke, "revoke every API token of a user")
    revoke.add_argument("name", metavar="NAME")
    passwd = verb(
        users, "passwd", users_passwd, "set a new password (from standard input); revokes tokens"
    )
    passwd.add_argument("name", metavar="NAME")
    passwd.add_argument("--fever", action="store_true", help="also allow the Fever API")


def _storage(settings: Settings) -> Any:
    from aggregator.storage import Storage

    storage = Storage(settings.database)
    storage.upgrade()
    return storage


def _password() -> str | None:
    """The password: typed twice at a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            print("aggregator: the passwords differ", file=sys.stderr)
            return None
        password = first
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("aggregator: an empty password is refused", file=sys.stderr)
        return None
    return password


def _valid_name(name: str) -> bool:
    return 0 < len(name) <= 200 and name == name.strip() and ":" not in name


def users_add(args: argparse.Namespace, settings: Settings) -> int:
    if not _valid_name(args.name):
        print(
            f"aggregator: not a user name: {args.name!r} (no ':', no spaces around)",
            file=sys.stderr,
        )
        return 2
    password = _password()
    if password is None:
        return 2
    fever = digest(fever_api_key(args.name, password)) if args.fever else None
    account = _storage(settings).add_reader(args.name, hash_password(password), fever)
    if account is None:
        print(f"aggregator: user {args.name!r} exists", file=sys.stderr)
        return 1
    print(f"added user {account.name}" + (" (Google Reader and Fever)" if args.fever else ""))
    return 0


def users_list(args: argparse.Namespace, settings: Settings) -> int:
    rows = [
        {
            "name": u.name,
            "fever": u.fever,
            "tokens": u.tokens,
            "created": u.created.isoformat(timespec="seconds"),
        }
        for u in cut(args, _storage(settings).list_readers(), "user")
    ]
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        headers = ["name", "fever", "tokens", "created"]
        print(table([[r[h] for h in headers] for r in rows], headers))
    return 0


def users_remove(args: argparse.Namespace, settings: Settings) -> int:
    if not _storage(settings).remove_reader(args.name):
        print(f"aggregator: no user {args.name!r}", file=sys.stderr)
        return 1
    print(f"removed user {args.name}")
    return 0


def users_revoke(args: argparse.Namespace, settings: Settings) -> int:
    count = _storage(settings).revoke_reader_tokens(args.name)
    if count is None:
        print(f"aggregator: no user {args.name!r}", file=sys.stderr)
        return 1
    print(f"revoked {count} tokens of {args.name}")
    return 0


def users_passwd(args: argparse.Namespace, settings: Settings) -> int:
    password = _password()
    if password is None:
        return 2
    fever = digest(fever_api_key(args.name, password)) if args.fever else None
    if not _storage(settings).set_reader_password(args.name, hash_password(password), fever):
        print(f"aggregator: no user {args.name!r}", file=sys.stderr)
        return 1
    print(f"new password for {args.name}; its tokens are revoked")
    return 0
