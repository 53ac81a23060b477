"""Browsers known to an account: one that logged in to it before, or that opened the unlock
link emailed to its owner, may still log in with the right password while failed attempts of
others keep the account locked (services.login_throttle)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

COOKIE = "permits_device"
#: A browser stays known this long after its last log-in (or unlock link).
KNOWN_FOR = timedelta(days=90)
#: Accounts one browser is known to at most (a shared office PC).
MAX_ACCOUNTS = 5


def _cookie_name() -> str:
    """Like the session cookie: __Host- (Secure, this host only) when served over HTTPS."""
    return f"__Host-{COOKIE}" if current_app.config.get("HTTPS") else COOKIE


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=salt)


def known_accounts() -> list[int]:
    """The ids of the accounts this browser proved itself to, newest first."""
    raw = request.cookies.get(_cookie_name())
    if not raw:
        return []
    try:
        ids = _serializer("login-device").loads(raw, max_age=int(KNOWN_FOR.total_seconds()))
    except BadSignature:
        return []
    if not isinstance(ids, list):
        return []
    return [i for i in ids if isinstance(i, int)]


def remember(response: Response, user_id: int) -> None:
    """This browser is known to the account from now on."""
    ids = [user_id, *(i for i in known_accounts() if i != user_id)][:MAX_ACCOUNTS]
    response.set_cookie(
        _cookie_name(),
        _serializer("login-device").dumps(ids),
        max_age=int(KNOWN_FOR.total_seconds()),
        secure=bool(current_app.config.get("HTTPS")),
        httponly=True,
        samesite="Lax",
    )


def unlock_token(user_id: int) -> str:
    return _serializer("login-unlock").dumps(user_id)


def unlocked_account(token: str, max_age: timedelta) -> int | None:
    """The account an emailed unlock link is for, while it is valid."""
    try:
        user_id = _serializer("login-unlock").loads(token, max_age=int(max_age.total_seconds()))
    except BadSignature:
        return None
    return user_id if isinstance(user_id, int) else None
