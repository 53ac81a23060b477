"""Many vehicle applications in one call: POST /api/v1/applications/batch, answered per item."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from permits.models import Role, utcnow
from permits.permissions import acting_user, roles_required
from permits.schemas import batches as schemas
from permits.services import batches
from permits.services.errors import ValidationFailed
from permits.views.api import bp


@bp.post("/applications/batch")
@roles_required(Role.ENTERPRISE)
def create_batch() -> Response:
    """Up to 500 vehicle applications: the valid ones become drafts of one batch."""
    body = request.get_json(silent=True)
    items = body.get("applications") if isinstance(body, dict) else None
    if not isinstance(items, list):
        message = _l('Send a JSON object whose "applications" is a list of vehicle applications.')
        raise ValidationFailed(message, {"applications": message})
    outcome = batches.create_batch(acting_user(), items, source="api", now=utcnow())
    results = [
        schemas.BatchItemResult.model_validate(
            {"index": r.index, "id": r.application.id, "status": r.application.status, "fields": {}}
            if r.application is not None
            else {
                "index": r.index,
                "id": None,
                "error": "invalid",
                "message": str(r.message),
                "fields": {name: str(message) for name, message in r.problems.items()},
            }
        )
        for r in outcome.results
    ]
    return jsonify(
        batch=outcome.batch.id if outcome.batch is not None else None,
        results=[r.model_dump(mode="json", exclude_unset=True) for r in results],
    )
