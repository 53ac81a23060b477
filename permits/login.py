"""How a request is tied to a user: a session cookie (browser) or a Bearer token (API clients)."""

from __future__ import annotations

from flask import g, request
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager

from permits import audit
from permits.models import User, utcnow
from permits.services import accounts

#: Endpoints whose every call is already logged as a scan event.
SCAN_ENDPOINTS = frozenset({"api.verify", "api.upload_scans"})


def _api_credentials() -> str | None:
    """The Authorization header of an API call, if it sent one."""
    if not request.path.startswith("/api/"):
        return None
    return request.headers.get("Authorization")


def load_session_user(session_id: str) -> User | None:
    if _api_credentials() is not None:
        return None  # an API call with credentials is judged by them alone, not by a cookie
    return accounts.user_for_session(session_id)


def load_token_user(_request: object) -> User | None:
    """Bearer tokens count only under /api; a bad token is refused, never ignored."""
    header = _api_credentials()
    if header is None:
        return None
    if not header.startswith("Bearer "):
        g.token_error = True
        return None
    user = accounts.user_for_api_token(
        header[7:].strip(), now=utcnow(), may_remember=request.endpoint in SCAN_ENDPOINTS
    )
    if user is None:
        g.token_error = True
        return None
    g.auth_method = "token"
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.endpoint not in SCAN_ENDPOINTS:
        # Machine writes are audited with the token's owner, method and route. Verifications
        # change no record: each is logged as a scan event instead, far cheaper per call.
        audit.record(
            "api.token_write",
            actor=user,
            details={"method": request.method, "endpoint": request.endpoint},
        )
    return user


def init_login(manager: LoginManager) -> None:
    manager.user_loader(load_session_user)
    manager.request_loader(load_token_user)
    manager.login_view = "auth.login"
    manager.login_message = _l("Please log in first.")
    manager.login_message_category = "info"
    # Identity changes are handled by the session nonce, not by IP or browser fingerprints
    # (a phone at a roadside changes its address often).
    manager.session_protection = "basic"
