"""The web face's sign-in rules, in process (the browser tests click through the forms):
a session ends when what proved it changes, a forged or stale cookie is a visitor's, the
cookie's flags follow the site's address, and the sign-in form sends nobody off-site."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

from starlette.testclient import TestClient

from aggregator.config import settings_from_mapping
from aggregator.publish.accounts import hash_password
from aggregator.publish.app import create_app
from aggregator.publish.session import COOKIE, KEY_SETTING, Session, _encode
from aggregator.storage import Storage
from tests.helpers import web_client


def _client(database: str, **server: Any) -> tuple[TestClient, Storage]:
    settings = settings_from_mapping({"database": database, "server": server}, None, env={})
    storage = Storage(settings.database)
    storage.upgrade()
    return web_client(create_app(storage, settings)), storage


def _sign_in(client: TestClient, name: str, password: str, next_page: str = "/manage") -> Any:
    page = client.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return client.post(
        "/login",
        data={"csrf": found.group(1), "name": name, "password": password, "next": next_page},
        follow_redirects=False,
    )


def _signed_in(client: TestClient) -> bool:
    answer = client.get("/manage", follow_redirects=False)
    assert answer.status_code in (200, 303)
    return bool(answer.status_code == 200)


def test_a_new_password_ends_the_reader_s_sessions(sqlite_url: str) -> None:
    client, storage = _client(sqlite_url)
    storage.add_reader("ada", hash_password("first"), None)
    assert _sign_in(client, "ada", "first").headers["location"] == "/manage"
    assert _signed_in(client)
    storage.set_reader_password("ada", hash_password("second"), None)
    assert not _signed_in(client)
    assert _sign_in(client, "ada", "first").status_code == 401
    assert _sign_in(client, "ada", "second").status_code == 303
    storage.remove_reader("ada")
    assert not _signed_in(client)


def test_a_session_outlives_a_restart_but_not_a_new_token(database_url: str) -> None:
    """On both databases: the signing key is stored in the settings table."""
    client, _ = _client(database_url, token="one")
    assert _sign_in(client, "", "one").status_code == 303
    cookie = client.cookies[COOKIE]
    # Another process of the same database (the signing key is stored there).
    again, _ = _client(database_url, token="one")
    again.cookies.set(COOKIE, cookie)
    assert _signed_in(again)
    changed, _ = _client(database_url, token="two")
    changed.cookies.set(COOKIE, cookie)
    assert not _signed_in(changed)
    # Without a token nobody signs in with one.
    none, _ = _client(database_url)
    none.cookies.set(COOKIE, cookie)
    assert not _signed_in(none)
    assert "No server token is set" in _sign_in(none, "", "").text


def test_a_forged_or_stale_cookie_is_a_visitor_s(sqlite_url: str) -> None:
    client, storage = _client(sqlite_url, token="one")
    assert _sign_in(client, "", "one").status_code == 303
    cookie = client.cookies[COOKIE]
    body, _, mac = cookie.partition(".")
    client.cookies.set(COOKIE, body + "." + mac[::-1])
    assert not _signed_in(client)
    # Signed with the right key, but older than a session may live.
    key = storage.get_setting(KEY_SETTING)
    assert key is not None
    signed_in = _client(sqlite_url, token="one")[0]
    assert _sign_in(signed_in, "", "one").status_code == 303
    proof = signed_in.cookies[COOKIE]
    assert _signed_in(signed_in)
    fields = json.loads(base64.urlsafe_b64decode(proof.partition(".")[0] + "=="))
    old = Session(**{**fields, "issued": int(time.time()) - 15 * 86400})
    signed_in.cookies.set(COOKIE, _encode(old, bytes.fromhex(key)))
    assert not _signed_in(signed_in)
    fresh = Session(**{**fields, "issued": int(time.time()) - 60})
    signed_in.cookies.set(COOKIE, _encode(fresh, bytes.fromhex(key)))
    assert _signed_in(signed_in)


def test_the_cookie_is_secure_on_an_https_site(sqlite_url: str) -> None:
    plain, _ = _client(sqlite_url)
    header = plain.get("/login").headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "secure" not in header
    https, _ = _client(sqlite_url, base_url="https://news.example")
    header = https.get("/login").headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "secure" in header


def test_signing_in_sends_nobody_off_the_site(sqlite_url: str) -> None:
    client, _ = _client(sqlite_url, token="one")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        client.cookies.clear()
        assert _sign_in(client, "", "one", next_page=target).headers["location"] == "/clusters"
    client.cookies.clear()
    assert _sign_in(client, "", "one", next_page="/clusters/3").headers["location"] == "/clusters/3"


def test_public_pages_set_no_cookie(sqlite_url: str) -> None:
    client, _ = _client(sqlite_url, token="one")
    for path in ("/clusters", "/feeds", "/api/docs"):
        answer = client.get(path)
        assert answer.status_code == 200 and "set-cookie" not in answer.headers
        assert answer.headers["vary"] == "Cookie"
        assert 'href="/login"' in answer.text


def test_form_fields_are_checked_before_anything_is_done(sqlite_url: str) -> None:
    client, storage = _client(sqlite_url, token="one")
    assert _sign_in(client, "", "one").status_code == 303
    page = client.get("/manage")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    csrf = found.group(1)
    answer = client.post(
        "/manage/feeds", data={"csrf": csrf, "url": "https://news.example/", "priority": "10e9"}
    )
    assert answer.status_code == 400 and "priority: expected a whole number" in answer.text
    answer = client.post(
        "/manage/feeds", data={"csrf": csrf, "url": "https://news.example/", "priority": "2000000"}
    )
    assert answer.status_code == 400 and "between -1000 and 1000000" in answer.text
    answer = client.post("/manage/clusters/1/merge", data={"csrf": csrf, "other": "the big one"})
    assert answer.status_code == 400 and "expected its id" in answer.text
    answer = client.post("/manage/clusters/1/merge", data={"csrf": csrf, "other": "/clusters/2"})
    assert answer.status_code == 404 and "no cluster 1" in answer.text
    assert storage.list_feeds() == []
