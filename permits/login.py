"""How a request is tied to a user: a session cookie (browser) or a Bearer token (API clients)."""

from __future__ import annotations

import time

from flask import Flask, current_app, flash, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Request, Response
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, logout_user

from permits import audit, fastpaths
from permits.models import User, utcnow
from permits.services import accounts, api_tokens

#: Endpoints whose every call is already logged as a scan event.
SCAN_ENDPOINTS = frozenset({"api.verify", "api.upload_scans"})


def _api_credentials() -> str | None:
    """The Authorization header of an API call, if it sent one."""
    if not request.path.startswith("/api/"):
        return None
    return request.headers.get("Authorization")


class _TokenCallSession(SecureCookieSession):
    """The empty session of an API call that brought its own credentials; never sent back."""


class CookieSessions(SecureCookieSessionInterface):
    """Browser sessions in a signed cookie. An API call with an Authorization header is judged
    by its credentials alone, so its cookie is neither read nor written: a token client gets no
    session state, and the hot verification calls skip the cookie's parsing and signing."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if _api_credentials() is not None:  # the request context is pushed by now
            return _TokenCallSession()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if isinstance(session, _TokenCallSession):
            return
        super().save_session(app, session, response)


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
    user = api_tokens.user_for_api_token(
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


def judge_api_credentials() -> None:
    """before_request, ahead of the hooks that ask who is calling: an API call that brings an
    Authorization header is judged by it alone, here. Flask-Login would get there too, through
    the request loader, but only after fingerprinting the caller's address and browser for
    session protection and parsing cookies, for a call that has no session: a sixteenth of a
    verification (see fastpaths.set_request_user)."""
    if _api_credentials() is None:
        return
    fastpaths.set_request_user(load_token_user(request))


def login_manager() -> LoginManager:
    manager: LoginManager = current_app.login_manager  # type: ignore[attr-defined]
    return manager


#: Session keys: when the session's log-in happened, and when a request last used it (seconds).
STARTED_AT = "started_at"
SEEN_AT = "seen_at"
#: last-seen is written back at most this often, so the cookie is not re-sent on every request.
SEEN_RESOLUTION_SECONDS = 60


def mark_session_started() -> None:
    """Called at log-in: the lifetime and the idle timeout count from now."""
    now = int(time.time())
    session[STARTED_AT] = now
    session[SEEN_AT] = now


def end_stale_session() -> None:
    """before_request: a browser session ends PERMANENT_SESSION_LIFETIME after its log-in, or
    once unused for SESSION_IDLE_MINUTES. Any request carrying the cookie counts as use: the
    scanner page refreshes keys and revocations every few minutes, so it stays logged in."""
    if request.endpoint == "static" or "_user_id" not in session or _api_credentials():
        return
    now = int(time.time())
    started = session.get(STARTED_AT)
    seen = session.get(SEEN_AT)
    idle = int(current_app.config["SESSION_IDLE_MINUTES"]) * 60
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if (
        not isinstance(started, int)  # a session from before these keys existed
        or not isinstance(seen, int)
        or now - seen > idle
        or now - started > lifetime
    ):
        lang = session.get("lang")
        logout_user()
        session.clear()
        if lang:
            session["lang"] = lang
        if not request.path.startswith("/api/"):
            flash(_("Your session has ended. Please log in again."), "info")
        return
    if now - seen >= SEEN_RESOLUTION_SECONDS:
        session[SEEN_AT] = now


def init_login(manager: LoginManager) -> None:
    manager.user_loader(load_session_user)
    manager.request_loader(load_token_user)
    manager.login_view = "auth.login"
    manager.login_message = _l("Please log in first.")
    manager.login_message_category = "info"
    # Identity changes are handled by the session nonce, not by IP or browser fingerprints
    # (a phone at a roadside changes its address often).
    manager.session_protection = "basic"
