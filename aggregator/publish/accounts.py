"""Reader-app accounts: password hashing (Argon2id, argon2-cffi), API tokens, Fever keys.

The Google Reader ``Auth`` token is random and stored as its SHA-256 (a stolen database
holds no usable token); the ``T`` action token a client sends with each write is derived
from it, so revoking the one revokes the other.  Fever authenticates with
``md5("name:password")`` by its protocol: it is stored as a SHA-256 of that key, and only
for users added with ``--fever``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("not a password")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches; without a stored hash it still takes the time of a
    check (a missing user is not told apart by the time taken)."""
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def fever_api_key(name: str, password: str) -> str:
    """The key a Fever client sends: ``md5("name:password")`` (the protocol's choice)."""
    return hashlib.md5(f"{name}:{password}".encode(), usedforsecurity=False).hexdigest()


def digest(secret: str) -> str:
    """What is stored of a token or Fever key."""
    return hashlib.sha256(secret.strip().lower().encode()).hexdigest()


def new_token() -> str:
    return secrets.token_hex(32)


def action_token(auth: str) -> str:
    """The ``T`` token for writes, 57 characters as Google's were."""
    return hashlib.sha256(b"T:" + auth.encode()).hexdigest()[:57]


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
