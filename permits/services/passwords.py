"""Passwords: how they are hashed and checked, the rules a new one must meet, and the first
password an administrator hands over."""

from __future__ import annotations

import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

from permits import validators
from permits.services.errors import ValidationFailed

#: Argon2id with the library's current recommended parameters (RFC 9106 low-memory profile).
_hasher = PasswordHasher()
#: Cheap parameters for the test suite only (PASSWORD_HASH_FAST); never for real accounts.
_fast_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
#: Letters and digits that cannot be mistaken for one another when read out or copied.
_FIRST_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105


def _current_hasher() -> PasswordHasher:
    return _fast_hasher if current_app.config.get("PASSWORD_HASH_FAST") else _hasher


def hash_password(password: str) -> str:
    return _current_hasher().hash(password)


def password_messages(problem: str) -> str:
    messages = {
        "short": _l("Use at least %(n)d characters.", n=current_app.config["PASSWORD_MIN_LENGTH"]),
        "common": _l("This password is too common and easy to guess; choose another."),
        "personal": _l("Do not use your name or email address in the password."),
    }
    return str(messages[problem])


def check_new_password(
    password: str, *, personal: tuple[str, ...] = (), field: str = "password"
) -> None:
    """Refuses a password that is short, common or made of the user's own details."""
    problem = validators.password_problem(
        password, int(current_app.config["PASSWORD_MIN_LENGTH"]), personal=personal
    )
    if problem:
        raise ValidationFailed(
            _l("Some fields need your attention."), {field: password_messages(problem)}
        )


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other parameters than today's (renewed at login)."""
    return _current_hasher().check_needs_rehash(password_hash)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password is the one hashed; a malformed hash matches nothing."""
    try:
        return _current_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def spend_verification_time(password: str) -> None:
    """Checks the password against a hash of nobody's: a login for an unknown email takes as long
    as one for a real account, so timing does not tell which exist."""
    verify_password(_dummy_hash(), password)


@lru_cache(maxsize=2)
def _dummy_hash_for(fast: bool) -> str:
    return (_fast_hasher if fast else _hasher).hash("not the password of anyone")


def _dummy_hash() -> str:
    return _dummy_hash_for(bool(current_app.config.get("PASSWORD_HASH_FAST")))


def same_text(a: str, b: str) -> bool:
    """Constant-time equality of two texts; compare_digest refuses non-ASCII str, so UTF-8 bytes."""
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def first_password() -> str:
    """A random password for a new or reset account, shown once; the user must change it."""
    length = max(16, int(current_app.config["PASSWORD_MIN_LENGTH"]))
    return "".join(secrets.choice(_FIRST_PASSWORD_ALPHABET) for _ in range(length))
