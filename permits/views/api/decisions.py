"""Many decisions in one call: each application decided on its own, one result per id."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from permits.models import Application, Role, utcnow
from permits.permissions import acting_user, can_view_application, roles_required
from permits.schemas import decisions as schemas
from permits.services import batch_review
from permits.services.errors import ValidationFailed
from permits.views.api import bp
from permits.views.api.applications import _json_body, application_json, decision_fields


def _ids(body: dict[str, Any]) -> list[int]:
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise ValidationFailed(
            _l("Some fields need your attention."),
            {"ids": _l("Send the application ids as a list of numbers.")},
        )
    return batch_review.check_bulk_ids(ids)


def _result(outcome: batch_review.Outcome, application: Application | None) -> dict[str, Any]:
    if outcome.decision is None or application is None:
        assert outcome.error is not None
        return {
            "id": outcome.application_id,
            "result": "error",
            "error": outcome.error.code,
            "message": str(outcome.error.message),
        }
    return {
        "id": outcome.application_id,
        "result": "decided",
        "decision": schemas.Decision.model_validate(outcome.decision).as_json(),
        "application": application_json(application, full=False),
    }


@bp.post("/applications/decisions")
@roles_required(Role.APPROVER)
def decide_applications() -> Response:
    """One decision for up to MAX_BULK applications; a refusal is reported for its id alone."""
    body = _json_body()
    ids = _ids(body)
    action, comment, reason_code = decision_fields(body)
    me = acting_user()
    found = batch_review.load_applications(ids)
    visible = {i: a for i, a in found.items() if can_view_application(me, a)}
    outcomes = batch_review.decide_many(
        me, ids, visible, action, comment=comment, reason_code=reason_code, now=utcnow()
    )
    results = [_result(o, visible.get(o.application_id)) for o in outcomes]
    decided = sum(1 for o in outcomes if o.is_decided)
    return jsonify(results=results, decided=decided, refused=len(outcomes) - decided)
