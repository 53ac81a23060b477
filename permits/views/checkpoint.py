"""The checkpoint scanner: an installable page that verifies by camera, scanner or typed code,
and keeps working offline from the published keys and the revocation feed."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, make_response, render_template, send_from_directory
from werkzeug.wrappers import Response

from permits import regions
from permits.i18n import current_locale_name
from permits.models import Role, utcnow
from permits.permissions import acting_user, public, roles_required
from permits.services import verification

bp = Blueprint("checkpoint", __name__, url_prefix="/checkpoint")


@bp.get("/")
@roles_required(Role.CHECKPOINT, Role.ADMIN)
def scan() -> str:
    locale = current_locale_name()
    return render_template(
        "checkpoint/scan.html",
        revocations_max_age_hours=current_app.config["REVOCATIONS_MAX_AGE_HOURS"],
        checkpoint=acting_user().checkpoint,
        division_names={
            d.code: d.name(locale) for d in regions.divisions().values() if d.is_county_level
        },
    )


@bp.get("/history")
@roles_required(Role.CHECKPOINT, Role.ADMIN)
def history() -> str:
    """My recent scans, newest first."""
    return render_template(
        "checkpoint/history.html", scans=verification.recent_scans(user=acting_user())
    )


@bp.get("/anomalies")
@roles_required(Role.APPROVER, Role.ADMIN, Role.SUPERVISOR)
def anomalies() -> str:
    """Passes seen in impossible places or too often, with the scans behind each flag."""
    return render_template(
        "checkpoint/anomalies.html",
        scans=verification.anomalies(utcnow() - timedelta(days=7)),
    )


@bp.get("/sw.js")
@public
def service_worker() -> Response:
    """Served from /checkpoint/ so that its scope covers the scanner page."""
    response = send_from_directory(current_app.static_folder or "", "js/sw.js", max_age=0)
    response.headers["Content-Type"] = "application/javascript; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
@public
def manifest() -> Response:
    response = make_response(render_template("checkpoint/manifest.webmanifest"))
    response.headers["Content-Type"] = "application/manifest+json"
    return response
