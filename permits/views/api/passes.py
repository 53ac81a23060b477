"""Passes over the API, and the public feeds offline verifiers live on: keys and revocations."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from werkzeug.wrappers import Response

from permits.database import MAX_ROW_ID
from permits.errors import json_error
from permits.models import Pass, PassStatus, Role, utcnow
from permits.passes import codes
from permits.permissions import acting_user, public, roles_required
from permits.schemas import passes as schemas
from permits.services import issuance
from permits.services.errors import ValidationFailed
from permits.views.api import bp
from permits.views.passes import load_pass, pdf_rate_limit, pdf_response

#: The answer's fields the pass holds under the same name.
FROM_PASS = [name for name in schemas.Pass.model_fields if hasattr(Pass, name)]


def pass_json(issued: Pass) -> dict[str, Any]:
    now = utcnow()
    if issued.status is PassStatus.REVOKED:
        state = "revoked"
    elif issued.is_expired(now):
        state = "expired"
    elif now < issued.not_before:
        state = "not_yet_valid"
    else:
        state = "active"
    answer = {
        **{
            name: getattr(issued, name)
            for name in schemas.Pass.model_fields
            if hasattr(issued, name)
        },
        "status": state,
        "control_code_display": codes.format_control_code(issued.control_code),
        "qr": issued.token,
        "pdf": url_for("api.get_pass_pdf", number=issued.number),
    }
    return schemas.Pass.model_validate(answer).as_json()


@bp.get("/passes/<number>")
def get_pass(number: str) -> Response:
    return jsonify(pass_json(load_pass(number)))


@bp.get("/passes/<number>/pdf")
@pdf_rate_limit
def get_pass_pdf(number: str) -> Response:
    return pdf_response(load_pass(number))


@bp.post("/passes/<number>/revoke")
@roles_required(Role.APPROVER, Role.ADMIN)
def revoke_pass(number: str) -> Response:
    issued = load_pass(number)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed("Send a JSON object.", {"reason": "Give the reason."})
    issuance.revoke_pass(acting_user(), issued, body.get("reason"), now=utcnow())
    return jsonify(pass_json(issued))


@bp.get("/keys")
@public
def keys() -> Response:
    """JWKS of every key whose passes may still be valid, with its signing period."""
    now = utcnow()
    issuance.signing_key(now, now)  # the first key is made on first run
    response = jsonify(keys=[key.jwk() for key in issuance.key_store().published(now)])
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/revocations")
@public
def revocations() -> Response:
    """The pass numbers revoked (and reinstated) after position `since`, and the position to
    continue from."""
    raw = request.args.get("since", "0")
    try:
        since = int(raw)
    except ValueError:
        return json_error(400, "since is a whole number (the counter of the last answer).")
    if not 0 <= since <= MAX_ROW_ID:
        return json_error(400, "since is not a counter this service gave.")
    page = issuance.revocations_since(since)
    return jsonify(counter=page.counter, revoked=page.revoked, reinstated=page.reinstated)
