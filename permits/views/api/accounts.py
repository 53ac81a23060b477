"""The caller's own account: who am I, and my API tokens."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify
from werkzeug.wrappers import Response

from permits.extensions import db
from permits.models import ApiToken, User, utcnow
from permits.permissions import acting_user, can_revoke_token
from permits.services import api_tokens
from permits.views.api import bp


def user_json(user: User) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
    }
    if user.enterprise is not None:
        data["enterprise"] = {
            "uscc": user.enterprise.uscc,
            "name": user.enterprise.name,
            "district": user.enterprise.district,
        }
    if user.department is not None:
        data["department"] = {"code": user.department.code, "scope": user.department.scope}
    if user.checkpoint is not None:
        data["checkpoint"] = {"code": user.checkpoint.code, "name": user.checkpoint.name}
    return data


def token_json(token: ApiToken) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": iso(token.created_at),
        "last_used_at": iso(token.last_used_at),
        "revoked_at": iso(token.revoked_at),
    }


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
