"""Applications over the API: create, edit, attach, submit, withdraw, read, list, decide."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from permits.database import MAX_ROW_ID
from permits.errors import json_error
from permits.extensions import db
from permits.models import Application, Kind, Pass, Role, Workflow, utcnow
from permits.permissions import (
    acting_user,
    can_view_application,
    can_withdraw_application,
    roles_required,
)
from permits.services import application_queries, applications, attachments, issuance, reviews
from permits.services.errors import ValidationFailed
from permits.views.api import bp
from permits.views.applications import serve_attachment
from permits.workflow import State

MAX_PAGE = 100


def _load(application_id: int, *, query: Select[Application] | None = None) -> Application:
    """The application (404 unless the caller may see it); `query`, built once, loads it with
    what the caller needs too, keyed by the bound parameter "id"."""
    if query is None:
        application = db.session.get(Application, application_id)
    else:
        application = db.session.scalars(query, {"id": application_id}).unique().one_or_none()
    if application is None or not can_view_application(acting_user(), application):
        abort(404)
    return application


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed(_l("Send a JSON object."), {"body": _l("Send a JSON object.")})
    return body


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def step_json(application: Application) -> dict[str, Any] | None:
    if application.status is not State.IN_REVIEW:
        return None
    return {
        "position": application.current_step,
        "department": application.current_department_code,
        "scope": application.current_scope,
        "entered_at": _iso(application.step_entered_at),
        "due_at": _iso(application.step_due_at),
        "overdue": bool(application.step_due_at and application.step_due_at < utcnow()),
    }


def _pass_summary(application: Application) -> dict[str, Any] | None:
    if application.status is not State.APPROVED:
        return None
    issued = issuance.pass_of(application)
    if issued is None:
        return None
    return {
        "number": issued.number,
        "status": issued.status.value,
        "valid_from": _iso(issued.valid_from),
        "valid_until": _iso(issued.valid_until),
        "control_code": issued.control_code,
        "url": url_for("api.get_pass", number=issued.number),
    }


def _renewal_of(application: Application) -> str | None:
    if application.renewal_of_id is None:
        return None
    old = db.session.get(Pass, application.renewal_of_id)
    return old.number if old else None


def application_json(application: Application, *, full: bool = True) -> dict[str, Any]:
    """The API's view of an application; `full` adds drivers, files and the history."""
    data: dict[str, Any] = {
        "id": application.id,
        "kind": application.kind.value,
        "status": application.status.value,
        "round": application.round,
        "step": step_json(application),
        "enterprise": {"uscc": application.enterprise.uscc, "name": application.enterprise.name},
        "district": application.district,
        "valid_until": _iso(application.valid_until),
        "created_at": _iso(application.created_at),
        "updated_at": _iso(application.updated_at),
        "submitted_at": _iso(application.submitted_at),
        "pass": _pass_summary(application),
        "renewal_of": _renewal_of(application),
    }
    if application.kind is Kind.WORK_RESUMPTION:
        data.update(
            site_address=application.site_address,
            resume_date=_iso(application.valid_from),
            staff_on_site=application.staff_on_site,
            contact_name=application.contact_name,
            contact_phone=application.contact_phone,
            closed_loop=application.closed_loop,
        )
    else:
        data.update(
            plate=application.plate,
            vehicle_type=application.vehicle_type and application.vehicle_type.value,
            origin=application.origin,
            destination=application.destination,
            cargo_category=application.cargo_category and application.cargo_category.value,
            valid_from=_iso(application.valid_from),
        )
    if not full:
        return data
    if application.kind is Kind.VEHICLE_PASS:
        data["drivers"] = [
            {"name": d.name, "id_number": d.id_number, "phone": d.phone}
            for d in application.drivers
        ]
    data["attachments"] = [
        {
            "id": a.id,
            "purpose": a.purpose,
            "filename": a.filename,
            "content_type": a.content_type,
            "size": a.size,
            "created_at": _iso(a.created_at),
            "url": url_for("api.get_attachment", application_id=application.id, attachment_id=a.id),
        }
        for a in application_queries.attachments_of(application)
    ]
    data["history"] = [
        {
            "action": d.action.value,
            "round": d.round,
            "step": d.step,
            "department": {"code": d.department.code, "scope": d.department.scope}
            if d.department
            else None,
            "actor": d.actor.name or d.actor.email,
            "comment": d.comment,
            "reason_code": d.reason_code,
            "at": _iso(d.created_at),
        }
        for d in application_queries.history(application)
    ]
    return data


def _created(application: Application) -> Response:
    response = jsonify(application_json(application))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_application", application_id=application.id)
    return response


@bp.post("/applications")
@roles_required(Role.ENTERPRISE)
def create_application() -> Response:
    body = _json_body()
    kind = body.pop("kind", None)
    application = applications.create_draft(acting_user(), kind or "", body, now=utcnow())
    return _created(application)


@bp.patch("/applications/<int:application_id>")
@roles_required(Role.ENTERPRISE)
def update_application(application_id: int) -> Response:
    application = _load(application_id)
    applications.update_draft(acting_user(), application, _json_body(), now=utcnow())
    return jsonify(application_json(application))


@bp.post("/applications/<int:application_id>/attachments")
@roles_required(Role.ENTERPRISE)
def add_attachment(application_id: int) -> Response:
    application = _load(application_id)
    upload = request.files.get("file")
    attachment = attachments.add_attachment(
        acting_user(),
        application,
        purpose=request.form.get("purpose", ""),
        filename=(upload.filename or "") if upload else "",
        content=upload.read() if upload else b"",
        now=utcnow(),
    )
    response = jsonify(
        id=attachment.id,
        purpose=attachment.purpose,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        sha256=attachment.sha256,
    )
    response.status_code = 201
    return response


@bp.get("/applications/<int:application_id>/attachments/<int:attachment_id>")
def get_attachment(application_id: int, attachment_id: int) -> Response:
    return serve_attachment(application_id, attachment_id)


@bp.post("/applications/<int:application_id>/submit")
@roles_required(Role.ENTERPRISE)
def submit_application(application_id: int) -> Response:
    application = _load(application_id)
    applications.submit(acting_user(), application, now=utcnow())
    return jsonify(status=application.status.value, step=step_json(application), id=application.id)


@bp.post("/applications/<int:application_id>/withdraw")
@roles_required(Role.ENTERPRISE)
def withdraw_application(application_id: int) -> Response:
    application = _load(application_id)
    if not can_withdraw_application(acting_user(), application):
        return json_error(409, "This application can no longer be withdrawn.")
    applications.withdraw(acting_user(), application, now=utcnow())
    return jsonify(application_json(application))


@bp.get("/applications/<int:application_id>")
def get_application(application_id: int) -> Response:
    return jsonify(application_json(_load(application_id)))


#: What a decision and its answer read, in the same query: the enterprise (the answer, the
#: notices), the applicant (the notices), the chain with its steps (the decision) and the
#: drivers (the conflict check, the answer): four round trips fewer. A few steps times a few
#: drivers is a few rows. Built once, with its cache key.
_FOR_DECISION = (
    select(Application)
    .where(Application.id == bindparam("id"))
    .options(
        joinedload(Application.enterprise),
        joinedload(Application.created_by),
        joinedload(Application.workflow).joinedload(Workflow.steps),
        joinedload(Application.drivers),
    )
)


@bp.post("/applications/<int:application_id>/decisions")
@roles_required(Role.APPROVER)
def decide_application(application_id: int) -> Response:
    application = _load(application_id, query=_FOR_DECISION)
    body = _json_body()
    decision = reviews.decide(
        acting_user(),
        application,
        str(body.get("decision") or ""),
        comment=str(body.get("comment") or ""),
        reason_code=body.get("reason_code") or None,
        now=utcnow(),
    )
    response = jsonify(
        decision={
            "id": decision.id,
            "action": decision.action.value,
            "step": decision.step,
            "round": decision.round,
            "reason_code": decision.reason_code,
            "comment": decision.comment,
        },
        application=application_json(application),
    )
    response.status_code = 201
    return response


@bp.get("/applications")
def list_applications() -> Response:
    """Scoped lists: the enterprise's own, an approver's queue (step=mine) or files, everything
    for admins and supervisors; newest first by default; pages by an opaque cursor."""
    me = acting_user()
    if me.role is Role.CHECKPOINT:
        return json_error(403, "Checkpoints verify passes; they do not read applications.")
    try:
        status = State(request.args["status"]) if request.args.get("status") else None
        kind = Kind(request.args["kind"]) if request.args.get("kind") else None
        limit = min(max(int(request.args.get("limit", 20)), 1), MAX_PAGE)
    except ValueError:
        return json_error(400, "status, kind or limit is not valid.")
    order = request.args.get("order", "newest")
    if order not in ("newest", "oldest"):
        return json_error(400, "order is newest or oldest.")
    cursor = request.args.get("cursor")
    if request.args.get("step") == "mine":
        if me.role is not Role.APPROVER:
            return json_error(403, "step=mine is the queue of an approver.")
        if cursor and reviews.decode_cursor(cursor) is None:
            return json_error(400, "cursor is not valid.")
        items = reviews.queue(
            me, reviews.QueueFilter(kind=kind), now=utcnow(), after=cursor, limit=limit + 1
        )
        next_cursor = reviews.encode_cursor(items[limit - 1]) if len(items) > limit else None
    else:
        try:
            after_id = int(cursor) if cursor else None
        except ValueError:
            return json_error(400, "cursor is not valid.")
        if after_id is not None and not 0 <= after_id <= MAX_ROW_ID:
            return json_error(400, "cursor is not valid.")
        items = application_queries.visible_applications(
            me,
            status=status,
            kind=kind,
            after_id=after_id,
            newest_first=order == "newest",
            limit=limit + 1,
        )
        next_cursor = str(items[limit - 1].id) if len(items) > limit else None
    return jsonify(
        items=[application_json(a, full=False) for a in items[:limit]], next_cursor=next_cursor
    )
