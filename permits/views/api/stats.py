"""Supervision figures for admins and supervisors: GET /api/v1/stats."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app, jsonify
from werkzeug.wrappers import Response

from permits.models import Role, utcnow
from permits.permissions import roles_required
from permits.services import supervision
from permits.views.api import bp


@bp.get("/stats")
@roles_required(Role.ADMIN, Role.SUPERVISOR)
def stats() -> Response:
    """The figures of the supervision dashboard: the same snapshot, exact at `generated_at`."""
    figures = supervision.current_figures(
        utcnow(),
        zone=ZoneInfo(current_app.config["TIMEZONE"]),
        max_age=timedelta(seconds=current_app.config["SUPERVISION_MAX_AGE_SECONDS"]),
    )
    response = jsonify(supervision.as_json(figures))
    response.headers["Cache-Control"] = "no-store"
    return response
