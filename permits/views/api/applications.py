"""Applications over the API: create, edit, attach, submit, withdraw, read, list, decide."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, jsonify, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from permits.database import MAX_ROW_ID
from permits.errors import json_error
from permits.extensions import db
from permits.models import Application, Kind, Pass, Role, utcnow
from permits.permissions import (
    acting_user,
    can_view_application,
    can_withdraw_application,
    roles_required,
)
from permits.schemas import applications as schemas
from permits.schemas import decisions as decision_schemas
from permits.schemas.common import Schema
from permits.schemas.passes import PassSummary
from permits.services import (
    application_queries,
    applications,
    attachments,
    issuance,
    review_queue,
    reviews,
)
from permits.services.errors import ValidationFailed
from permits.views.api import bp
from permits.views.applications import serve_attachment
from permits.workflow import State

MAX_PAGE = 100


def _load(
    application_id: int, *, loader: Callable[[int], Application | None] | None = None
) -> Application:
    """The application (404 unless the caller may see it); `loader` loads it with what the
    caller needs too."""
    if loader is None:
        application = db.session.get(Application, application_id)
    else:
        application = loader(application_id)
    if application is None or not can_view_application(acting_user(), application):
        abort(404)
    return application


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed(_l("Send a JSON object."), {"body": _l("Send a JSON object.")})
    return body


def decision_fields(body: dict[str, Any]) -> tuple[str, str, str | None]:
    """A decision body's decision, comment and reason code, refused (422) where the document
    refuses them: a value that is not text is not read as its text, and a reason code is one
    of the listed ones (or null) whatever the decision."""
    decision, comment, reason = (
        body.get("decision"),
        body.get("comment", ""),
        body.get("reason_code"),
    )
    problems: dict[str, str] = {}
    if not isinstance(decision, str):
        problems["decision"] = str(_l("Choose approve, return or reject."))
    if not isinstance(comment, str):
        problems["comment"] = str(_l("This value is not valid."))
    if reason is not None and (not isinstance(reason, str) or reason not in reviews.REJECT_REASONS):
        problems["reason_code"] = str(_l("Choose one of the listed reasons."))
    if problems:
        raise ValidationFailed(_l("Some fields need your attention."), problems)
    return str(decision), str(comment), reason


#: The answer's fields computed here, not read from the application's same-named attribute
#: (`attachments` is read by application_queries, never by a lazy load).
COMPUTED = frozenset({"step", "pass_", "renewal_of", "resume_date", "attachments", "history"})
#: What an application of each kind leaves out of its answer: the other kind's fields.
OTHER_KIND = {
    Kind.WORK_RESUMPTION: frozenset({*schemas.VEHICLE_PASS_OUT, "drivers"}),
    Kind.VEHICLE_PASS: frozenset(schemas.WORK_RESUMPTION_OUT),
}


def step_out(application: Application) -> schemas.Step | None:
    """The step an application in review waits at; None otherwise."""
    if application.status is not State.IN_REVIEW:
        return None
    return schemas.Step.model_validate(
        {
            "position": application.current_step,
            "department": application.current_department_code,
            "scope": application.current_scope,
            "entered_at": application.step_entered_at,
            "due_at": application.step_due_at,
            "overdue": bool(application.step_due_at and application.step_due_at < utcnow()),
        }
    )


def _pass_summary(application: Application) -> PassSummary | None:
    issued = issuance.pass_of(application) if application.status is State.APPROVED else None
    if issued is None:
        return None
    url = url_for("api.get_pass", number=issued.number)
    return PassSummary.model_validate({**_columns(issued, PassSummary), "url": url})


def _renewal_of(application: Application) -> str | None:
    if application.renewal_of_id is None:
        return None
    old = db.session.get(Pass, application.renewal_of_id)
    return old.number if old else None


def _columns(
    obj: object, model: type[Schema], skip: set[str] | frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The model's fields that the object holds under the same name (none of `skip`)."""
    names = [name for name in model.model_fields if name not in skip]
    return {name: getattr(obj, name) for name in names if hasattr(obj, name)}


def _attachments(application: Application) -> list[schemas.AttachmentInfo]:
    return [
        schemas.AttachmentInfo.model_validate(
            {
                **_columns(a, schemas.AttachmentInfo),
                "url": url_for(
                    "api.get_attachment", application_id=application.id, attachment_id=a.id
                ),
            }
        )
        for a in application_queries.attachments_of(application)
    ]


def _history(application: Application) -> list[schemas.HistoryEntry]:
    return [
        schemas.HistoryEntry.model_validate(
            {
                **_columns(d, schemas.HistoryEntry),
                "actor": d.actor.name or d.actor.email,
                "at": d.created_at,
            }
        )
        for d in application_queries.history(application)
    ]


def application_out(application: Application, *, full: bool = True) -> schemas.ApplicationSummary:
    """The API's view of an application; `full` adds drivers, files and the history."""
    model = schemas.Application if full else schemas.ApplicationSummary
    skip = COMPUTED | (OTHER_KIND[application.kind])
    values = {
        **_columns(application, model, skip),
        "step": step_out(application),
        "pass": _pass_summary(application),
        "renewal_of": _renewal_of(application),
        "resume_date": application.valid_from,
    }
    if full:
        values.update(attachments=_attachments(application), history=_history(application))
    return model.model_validate(values)


def application_json(application: Application, *, full: bool = True) -> dict[str, Any]:
    """`application_out` as JSON, with only the fields of the application's kind."""
    return application_out(application, full=full).as_json(exclude=OTHER_KIND[application.kind])


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
    answer = schemas.Submitted.model_validate(
        {"id": application.id, "status": application.status, "step": step_out(application)}
    )
    return jsonify(answer.as_json())


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


@bp.post("/applications/<int:application_id>/decisions")
@roles_required(Role.APPROVER)
def decide_application(application_id: int) -> Response:
    application = _load(application_id, loader=application_queries.for_decision)
    action, comment, reason_code = decision_fields(_json_body())
    decision = reviews.decide(
        acting_user(), application, action, comment=comment, reason_code=reason_code, now=utcnow()
    )
    response = jsonify(
        decision=decision_schemas.Decision.model_validate(decision).as_json(),
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
    step = request.args.get("step")
    if step and step != "mine":
        message = str(_l("step is mine (the approver's queue) or left out."))
        return json_error(400, message, {"step": message})
    if step == "mine":
        if me.role is not Role.APPROVER:
            return json_error(403, "step=mine is the queue of an approver.")
        if cursor and review_queue.decode_cursor(cursor) is None:
            return json_error(400, "cursor is not valid.")
        items = review_queue.queue(
            me, review_queue.QueueFilter(kind=kind), now=utcnow(), after=cursor, limit=limit + 1
        )
        next_cursor = review_queue.encode_cursor(items[limit - 1]) if len(items) > limit else None
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
