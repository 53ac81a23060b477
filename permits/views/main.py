"""The front page: a welcome for visitors, and each role's starting point once logged in."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user
from sqlalchemy import text
from werkzeug.wrappers import Response

from permits import ratelimit
from permits.extensions import db
from permits.models import Role
from permits.permissions import acting_user, public
from permits.services import application_queries, review_queue
from permits.workflow import State

bp = Blueprint("main", __name__)

#: The home page counts an approver's queue up to this many ("more than …" beyond).
QUEUE_COUNT_CAP = 999


@bp.route("/")
@public
def home() -> str:
    """Visitors get the welcome; a user gets their next step: what waits for them, and how to
    start."""
    if not current_user.is_authenticated:
        return render_template("main/welcome.html")
    me = acting_user()
    counts = (
        application_queries.count_by_status(me.enterprise_id)
        if me.role is Role.ENTERPRISE and me.enterprise_id is not None
        else {}
    )
    return render_template(
        "main/home.html",
        returned=counts.get(State.RETURNED, 0),
        drafts=counts.get(State.DRAFT, 0),
        in_review=counts.get(State.IN_REVIEW, 0),
        waiting=review_queue.waiting_count(me, cap=QUEUE_COUNT_CAP)
        if me.role is Role.APPROVER
        else 0,
        cap=QUEUE_COUNT_CAP,
    )


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
