"""The front page: a welcome for visitors, and each role's starting point once logged in."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user
from sqlalchemy import text
from werkzeug.wrappers import Response

from permits import ratelimit
from permits.extensions import db
from permits.permissions import public

bp = Blueprint("main", __name__)


@bp.route("/")
@public
def home() -> str:
    if not current_user.is_authenticated:
        return render_template("main/welcome.html")
    return render_template("main/home.html")


@bp.route("/livez")
@public
def livez() -> Response:
    """The process answers (no database): for liveness probes, and the benchmarks' baseline."""
    return jsonify(status="ok")


@bp.route("/healthz")
@public
def healthz() -> Response:
    """For load balancers: 200 when the database answers (a failure becomes a JSON 503);
    "degraded" while the rate-limit storage is down (limits counted per process meanwhile)."""
    db.session.execute(text("SELECT 1"))
    checks = {"database": "ok", "rate_limit_storage": ratelimit.storage_status()}
    degraded = checks["rate_limit_storage"] == "unavailable"
    return jsonify(
        status="degraded" if degraded else "ok",
        checks=checks,
        metrics={"rate_limit_storage_failures": ratelimit.storage_failures()},
    )
