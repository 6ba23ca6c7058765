"""``aggregator users add|list|passwd|revoke|remove`` driven as a user types them (through
``main(argv)`` in this process, the password on standard input), on SQLite and
PostgreSQL, each step checked through the Google Reader API the users log in to."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from argon2 import extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY

from aggregator.config import load_settings
from aggregator.publish import accounts
from aggregator.publish.app import create_app
from aggregator.storage import Storage
from tests.helpers import Cli, web_client

LOGIN = "/api/greader/accounts/ClientLogin"
USER_INFO = "/api/greader/reader/api/0/user-info"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "config.yaml").write_text("feeds: []\n")
    return tmp_path


def test_users_from_the_command_line(
    folder: Path, database_url: str, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"AGGREGATOR_DATABASE_URL": database_url}

    def users(*args: str, stdin: str | None = None) -> Any:
        if stdin is not None:  # not a terminal: the password is its first line
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return cli("users", *args, cwd=folder, env=env)

    def listed() -> dict[str, dict[str, Any]]:
        shown = users("list", "--format", "json")
        assert shown.returncode == 0, shown.stderr
        return {row["name"]: row for row in json.loads(shown.stdout)}

    added = users("add", "alice", stdin="pw one\n")
    assert (added.returncode, added.stdout, added.stderr) == (0, "added user alice\n", "")
    added = users("add", "bob", "--fever", stdin="bob's pw\n")
    assert added.returncode == 0 and "Fever" in added.stdout
    again = users("add", "alice", stdin="other\n")
    assert again.returncode == 1 and "exists" in again.stderr and again.stdout == ""
    empty = users("add", "carol", stdin="\n")
    assert empty.returncode == 2 and "empty password" in empty.stderr
    for bad in ("a:b", " alice"):  # the message is an error: on stderr, stdout empty
        refused = users("add", bad, stdin="pw\n")
        assert refused.returncode == 2 and refused.stdout == ""
        assert "not a user name" in refused.stderr
    rows = listed()
    assert set(rows) == {"alice", "bob"}
    assert (rows["alice"]["fever"], rows["bob"]["fever"]) == (False, True)
    assert rows["alice"]["tokens"] == 0
    table = users("list")
    assert table.returncode == 0 and table.stdout.split()[:4] == [
        "name",
        "fever",
        "tokens",
        "created",
    ]

    settings = load_settings(folder / "config.yaml", env=env)
    storage = Storage(settings.database)
    with web_client(create_app(storage, settings)) as client:

        def login(name: str, password: str) -> str | None:
            done = client.post(LOGIN, data={"Email": name, "Passwd": password})
            if done.status_code != 200:
                assert done.status_code == 401
                return None
            return str(dict(line.split("=", 1) for line in done.text.splitlines())["Auth"])

        def works(token: str) -> bool:
            answer = client.get(USER_INFO, headers={"Authorization": f"GoogleLogin auth={token}"})
            assert answer.status_code in (200, 401)
            return bool(answer.status_code == 200)

        token = login("alice", "pw one")
        assert token is not None and works(token)
        assert login("alice", "other") is None  # the second add changed nothing
        assert listed()["alice"]["tokens"] == 1

        revoked = users("revoke", "alice")
        assert (revoked.returncode, revoked.stdout) == (0, "revoked 1 tokens of alice\n")
        assert not works(token) and listed()["alice"]["tokens"] == 0
        token = login("alice", "pw one")  # the password still logs in
        assert token is not None and works(token)

        changed = users("passwd", "alice", stdin="pw two\n")
        assert changed.returncode == 0, changed.stderr
        assert not works(token)  # a new password revokes the tokens
        assert login("alice", "pw one") is None
        token = login("alice", "pw two")
        assert token is not None and works(token)

        removed = users("remove", "alice")
        assert (removed.returncode, removed.stdout) == (0, "removed user alice\n")
        assert not works(token) and login("alice", "pw two") is None
        assert set(listed()) == {"bob"}
        for verb in ("remove", "revoke"):
            gone = users(verb, "alice")
            assert gone.returncode == 1 and "no user 'alice'" in gone.stderr
    storage.close()


@pytest.mark.usefixtures("production_password_cost")
def test_a_password_is_stored_at_the_production_argon2_cost(
    folder: Path, migrated_sqlite_url: str, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other tests hash at Argon2's cheapest parameters (tests/conftest.py); this one
    has the hasher as it ships: Argon2id at the library's default, RFC 9106's low-memory
    profile, for what ``users add`` stores and for the check a missing user is given."""
    env = {"AGGREGATOR_DATABASE_URL": migrated_sqlite_url}
    monkeypatch.setattr("sys.stdin", io.StringIO("pw one\n"))
    added = cli("users", "add", "alice", cwd=folder, env=env)
    assert added.returncode == 0, added.stderr
    storage = Storage(migrated_sqlite_url)
    account = storage.reader("alice")
    storage.close()
    assert account is not None
    assert extract_parameters(account.password_hash) == RFC_9106_LOW_MEMORY
    assert extract_parameters(accounts._DUMMY) == RFC_9106_LOW_MEMORY
    assert accounts.verify_password(account.password_hash, "pw one")
    assert not accounts.verify_password(account.password_hash, "pw two")
    assert not accounts.verify_password(None, "pw one")
