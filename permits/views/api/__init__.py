"""JSON API v1: Bearer tokens or the same-origin session (with its CSRF token); JSON errors only."""

from __future__ import annotations

from flask import Blueprint, g, request
from flask_login import current_user

from permits.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@bp.before_request
def protect_session_calls() -> None:
    """A browser session proves same-origin intent with its CSRF token; a token holder need not."""
    if request.method in SAFE_METHODS:
        return
    if current_user.is_authenticated and getattr(g, "auth_method", "session") == "session":
        csrf.protect()


from permits.views.api import (  # noqa: E402,F401 - registers the routes
    accounts,
    applications,
    batches,
    decisions,
    demands,
    openapi,
    passes,
    stats,
    verify,
)
