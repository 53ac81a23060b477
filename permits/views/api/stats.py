"""Supervision figures for admins and supervisors: GET /api/v1/stats."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, jsonify
from werkzeug.wrappers import Response

from permits.models import Role, utcnow
from permits.permissions import roles_required
from permits.services.supervision.figures import Figures
from permits.services.supervision.snapshot import current_figures
from permits.views.api import bp


@bp.get("/stats")
@roles_required(Role.ADMIN, Role.SUPERVISOR)
def stats() -> Response:
    """The figures of the supervision dashboard: the same snapshot, exact at `generated_at`."""
    figures = current_figures(
        utcnow(),
        zone=ZoneInfo(current_app.config["TIMEZONE"]),
        max_age=timedelta(seconds=current_app.config["SUPERVISION_MAX_AGE_SECONDS"]),
    )
    response = jsonify(as_json(figures))
    response.headers["Cache-Control"] = "no-store"
    return response


def as_json(f: Figures) -> dict[str, Any]:
    """The figures as GET /api/v1/stats answers them (hours for durations, ISO 8601 times)."""
    return {
        "generated_at": f.generated_at.isoformat(),
        "passes_issued": f.passes_issued,
        "passes_active": f.passes_active,
        "passes_revoked": f.passes_revoked,
        "applications": {
            "by_state": f.by_state,
            "by_kind": f.by_kind,
            "by_district": f.by_district,
            "per_day": [{"date": d.isoformat(), "submitted": n} for d, n in f.per_day],
        },
        "steps": [
            {
                "kind": s.kind.value,
                "step": s.step,
                "department": s.department,
                "decisions": s.decisions,
                "median": s.median,
                "p90": s.p90,
            }
            for s in f.steps
        ],
        "overdue": {
            "total": f.overdue_total,
            "by_department": [
                {
                    "department": d.department_code,
                    "scope": d.scope,
                    "count": d.count,
                    "applications": [ident for ident, _due in d.applications],
                }
                for d in f.overdue
            ],
        },
        "common_problems": [
            {
                "action": p.action.value,
                "reason_code": p.reason_code,
                "count": p.count,
                "examples": p.examples,
            }
            for p in f.common_problems
        ],
        "scans": {
            "total": f.scans_total,
            "hours": [h.isoformat() for h in f.scan_hours],
            "by_checkpoint": [
                {
                    "checkpoint": c.code or None,
                    "name": c.name,
                    "total": c.total,
                    "per_hour": c.per_hour,
                }
                for c in f.scans
            ],
            "verdicts": f.verdicts,
        },
        "anomalies": f.anomalies,
    }
