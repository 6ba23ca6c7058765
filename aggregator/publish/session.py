"""Signing in to the web face: a signed session cookie, and a CSRF token per session.

Two kinds of people may sign in: whoever holds ``server.token`` (the operator), and a
reader user (``aggregator users add``) with their password.

The session lives in the cookie itself, as JSON signed with HMAC-SHA256, so no table
holds sessions.  The signing key is made on first use and kept in the database's
settings, so sessions survive a restart and every process of one database accepts them.
A signed-in session carries a *proof*: a keyed hash of the token or of the user's password
hash.  It is checked on every request, so changing the token or the password, or removing
the user, ends the sessions it opened; a cookie is also refused once it is
:data:`SESSION_DAYS` old.

Every session, a visitor's before signing in too, holds a random CSRF token that each POST
form carries back in a hidden field (:func:`check_csrf`).  The cookie is ``HttpOnly`` and
``SameSite=Lax`` (another site's form posts arrive without it), ``Secure`` when
``server.base_url`` is https.

A session may also hold one *notice*, a line shown on the next page (after a form's
redirect) and then dropped.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from aggregator.errors import StorageError
from aggregator.publish.accounts import verify_password
from aggregator.storage import Storage

__all__ = [
    "CSRF_FIELD",
    "Session",
    "SessionKey",
    "Viewer",
    "check_csrf",
    "current",
    "page_context",
    "save",
    "set_notice",
    "sign_in",
    "sign_out",
    "take_notice",
    "viewer_of",
]

log = logging.getLogger("aggregator.publish")

COOKIE = "aggregator_session"
CSRF_FIELD = "csrf"
SESSION_DAYS = 14
KEY_SETTING = "web.session_key"
"""The settings row holding the signing key (hex)."""
TOKEN_LOGIN = ""
"""The user name a session signed in with the server token has (no reader has it)."""


@dataclass(frozen=True)
class Session:
    """What the cookie holds."""

    csrf: str
    issued: int
    """Unix time the session began (a sign-in begins a new one)."""
    user: str | None = None
    """:data:`TOKEN_LOGIN` for the server token, a reader's name, None when not signed in."""
    proof: str | None = None
    notice: str | None = None


@dataclass(frozen=True)
class Viewer:
    """Who is signed in."""

    name: str
    """A reader's name, or ``"operator"`` for the server token."""
    operator: bool
    """Signed in with the server token (sees feed addresses whole, credentials included)."""


class SessionKey:
    """The signing key, read from (or first written to) the database once per process."""

    def __init__(self) -> None:
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def get(self, storage: Storage) -> bytes:
        with self._lock:
            if self._key is None:
                stored = storage.get_setting(KEY_SETTING)
                if stored is None:
                    storage.set_setting(KEY_SETTING, secrets.token_hex(32))
                    # Read back: of two processes starting at once, the last write stands.
                    stored = storage.get_setting(KEY_SETTING)
                assert stored is not None
                self._key = bytes.fromhex(stored)
            return self._key


def _key(request: Request) -> bytes:
    signer: SessionKey = request.app.state.session_key
    return signer.get(request.app.state.storage)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _encode(session: Session, key: bytes) -> str:
    body = json.dumps(session.__dict__, separators=(",", ":")).encode()
    return f"{_b64(body)}.{_b64(_mac(key, body))}"


def _decode(cookie: str, key: bytes) -> Session | None:
    body_text, _, mac_text = cookie.partition(".")
    try:
        body, mac = _unb64(body_text), _unb64(mac_text)
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(mac, _mac(key, body)):
        return None
    try:
        fields: dict[str, Any] = json.loads(body)
        session = Session(**fields)
    except (ValueError, TypeError):
        return None
    if not isinstance(session.csrf, str) or not isinstance(session.issued, int):
        return None
    if time.time() - session.issued > SESSION_DAYS * 86400:
        return None
    return session


def _proof(key: bytes, user: str, secret: str) -> str:
    return _mac(key, f"{user}\n{secret}".encode()).hex()


def _fresh() -> Session:
    return Session(csrf=secrets.token_urlsafe(32), issued=int(time.time()))


@dataclass
class _Current:
    """The session as this request has it (request-scoped, changed by sign-in and notices)."""

    session: Session | None
    viewer: Viewer | None
    changed: bool = False


def _loaded(request: Request) -> _Current | None:
    found: _Current | None = getattr(request.state, "web_session", None)
    return found


def _state(request: Request) -> _Current:
    state = _loaded(request)
    if state is None:
        cookie = request.cookies.get(COOKIE)
        session = _decode(cookie, _key(request)) if cookie else None
        state = _Current(session, _check_proof(request, session))
        request.state.web_session = state
    return state


def _check_proof(request: Request, session: Session | None) -> Viewer | None:
    """Who the session is signed in as, if what proved it still holds."""
    if session is None or session.user is None or session.proof is None:
        return None
    key = _key(request)
    if session.user == TOKEN_LOGIN:
        token: str | None = request.app.state.settings.server.token
        if token and hmac.compare_digest(session.proof, _proof(key, TOKEN_LOGIN, token)):
            return Viewer(name="operator", operator=True)
        return None
    storage: Storage = request.app.state.storage
    account = storage.reader(session.user)
    if account is not None and hmac.compare_digest(
        session.proof, _proof(key, account.name, account.password_hash)
    ):
        return Viewer(name=account.name, operator=False)
    return None


def current(request: Request) -> Session:
    """The request's session; a visitor without one gets a new one (saved with the
    response)."""
    session = _state(request).session
    if session is None:
        session = _fresh()
        _set(request, session)
    return session


def viewer_of(request: Request) -> Viewer | None:
    """Who is signed in, or None."""
    return _state(request).viewer


def _set(request: Request, session: Session) -> None:
    state = _state(request)
    state.session, state.changed = session, True


def set_notice(request: Request, notice: str) -> None:
    """A line for the next page this session sees."""
    _set(request, replace(current(request), notice=notice))


def take_notice(request: Request) -> str | None:
    """The session's notice, dropped from it (the response saves that)."""
    session = current(request)
    if session.notice is None:
        return None
    _set(request, replace(session, notice=None))
    return session.notice


def sign_in(request: Request, name: str, secret: str) -> Viewer | None:
    """Check a name and password (an empty name: the server token) and, if they hold, begin
    a new signed-in session with a new CSRF token.  None when they don't."""
    key = _key(request)
    if name == TOKEN_LOGIN:
        token: str | None = request.app.state.settings.server.token
        # compare_digest: the time taken must not tell how much of a guess was right.
        if not token or not hmac.compare_digest(secret.encode(), token.encode()):
            return None
        viewer, proof = Viewer(name="operator", operator=True), _proof(key, TOKEN_LOGIN, token)
    else:
        storage: Storage = request.app.state.storage
        account = storage.reader(name)
        if not verify_password(account.password_hash if account else None, secret):
            return None
        assert account is not None
        viewer = Viewer(name=account.name, operator=False)
        proof = _proof(key, account.name, account.password_hash)
    _set(request, replace(_fresh(), user=name, proof=proof))
    _state(request).viewer = viewer
    return viewer


def sign_out(request: Request) -> None:
    """Begin a new session, signed in as no one."""
    _set(request, _fresh())
    _state(request).viewer = None


def check_csrf(request: Request, form: FormData) -> None:
    """Refuse (403) a form whose CSRF field is not this session's token."""
    given = form.get(CSRF_FIELD)
    session = _state(request).session
    if (
        session is None
        or not isinstance(given, str)
        or not hmac.compare_digest(given.encode(), session.csrf.encode())
    ):
        raise HTTPException(
            403,
            "this form was refused: it did not carry this session's security token. "
            "It may come from another site, or from a page opened before you signed in or "
            "out. Open the page again and send the form from there.",
        )


def save(request: Request, response: Response) -> Response:
    """Write the session into ``response`` if this request changed it."""
    # A page differs with the cookie (a name, a Sign out button): a cache must not hand a
    # visitor's copy to someone signed in.
    vary = response.headers.get("vary")
    response.headers["vary"] = f"{vary}, Cookie" if vary else "Cookie"
    state = _loaded(request)
    if state is None:
        return response
    if state.changed and state.session is not None:
        secure = (request.app.state.settings.server.base_url or "").startswith("https:")
        response.set_cookie(
            COOKIE,
            _encode(state.session, _key(request)),
            max_age=SESSION_DAYS * 86400,
            path="/",
            httponly=True,
            samesite="lax",
            secure=secure,
        )
    if state.viewer is not None or state.changed:
        # A page with a CSRF token or someone's name is for this browser only.
        response.headers["cache-control"] = "private, no-store"
    return response


def page_context(request: Request) -> dict[str, Any]:
    """What every page's layout shows of the session: who is signed in, the CSRF token for
    its forms (the sign-out button), the notice.  No cookie, no session: a public page
    is not given one."""
    if COOKIE not in request.cookies and _loaded(request) is None:
        return {"viewer": None, "csrf_token": None, "notice": None}
    try:
        viewer = viewer_of(request)
        notice = take_notice(request)
        csrf = current(request).csrf
    except StorageError as exc:
        # The page itself may still be shown (or be the error page saying the database
        # is down): it is shown as to a visitor.
        log.warning("event=session-unreadable error=%r", str(exc))
        return {"viewer": None, "csrf_token": None, "notice": None}
    return {"viewer": viewer, "csrf_token": csrf, "notice": notice}
