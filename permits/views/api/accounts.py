"""The caller's own account: who am I, and my API tokens."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify
from werkzeug.wrappers import Response

from permits.extensions import db
from permits.models import ApiToken, User, utcnow
from permits.permissions import acting_user, can_revoke_token
from permits.schemas import accounts as schemas
from permits.services import api_tokens
from permits.views.api import bp


def user_json(user: User) -> dict[str, Any]:
    """The account; its enterprise, department or checkpoint only when it has one."""
    none = {
        name for name in ("enterprise", "department", "checkpoint") if getattr(user, name) is None
    }
    return schemas.Me.model_validate(user).as_json(exclude=none)


def token_json(token: ApiToken) -> dict[str, Any]:
    return schemas.Token.model_validate(token).as_json()


@bp.get("/me")
def me() -> Response:
    return jsonify(user_json(acting_user()))


@bp.get("/tokens")
def list_tokens() -> Response:
    """The caller's tokens (never the secrets themselves)."""
    return jsonify(tokens=[token_json(t) for t in acting_user().api_tokens])


@bp.delete("/tokens/<int:token_id>")
def revoke_token(token_id: int) -> Response:
    """Revoke one of the caller's tokens, e.g. a leaked one, or the one making this call."""
    token = db.session.get(ApiToken, token_id)
    if token is None or not can_revoke_token(acting_user(), token):
        abort(404)
    api_tokens.revoke_api_token(token, now=utcnow())
    return jsonify(token_json(token))
