"""Demand tickets over the API: the enterprise files, confirms, reopens or withdraws; the
department holding a ticket accepts, answers, transfers, copies in and notes; everyone reads
what they may see (DESIGN.md, "Demand tickets")."""

from __future__ import annotations

import re
from typing import Any

from flask import abort, jsonify, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from permits.database import MAX_ROW_ID
from permits.demand_workflow import DemandState
from permits.errors import json_error
from permits.extensions import db
from permits.models import Demand, DemandCategory, DemandEvent, Role, utcnow
from permits.permissions import acting_user, roles_required
from permits.schemas import demands as schemas
from permits.schemas.common import Request
from permits.services import demand_handling, demand_queries, demands
from permits.services.demand_changes import INVALID, can_see
from permits.services.errors import ValidationFailed
from permits.views.api import bp
from permits.views.api.applications import MAX_PAGE, _json_body

HANDLERS = (Role.APPROVER, Role.HANDLER)
#: The body fields that are whole numbers; every other one is text.
WHOLE_NUMBERS = frozenset({"application_id", "rating"})
#: The values of `mine` a client may send, and what each means.
MINE = {"": False, "0": False, "1": True}


def _load(demand_id: int) -> Demand:
    """The ticket, 404 unless the caller may see it (its existence is not told)."""
    demand = db.session.get(Demand, demand_id)
    if demand is None or not can_see(acting_user(), demand):
        abort(404)
    return demand


def _body(model: type[Request]) -> dict[str, Any]:
    """The JSON object, each field one the model names and of its JSON type; the values are
    judged by the service."""
    body = _json_body()
    problems: dict[str, Any] = {}
    for name, value in body.items():
        if name not in model.model_fields:
            problems[name] = _l("This field is not accepted.")
        elif name in WHOLE_NUMBERS:
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                problems[name] = _l("Send a whole number.")
        elif value is not None and not isinstance(value, str):
            problems[name] = _l("Send text.")
    if problems:
        raise ValidationFailed(INVALID, problems)
    return body


def _department(demand: Demand) -> dict[str, str] | None:
    if demand.department_code is None or demand.scope is None:
        return None
    return {"code": demand.department_code, "scope": demand.scope}


def _summary(demand: Demand, pass_numbers: dict[int, str]) -> dict[str, Any]:
    names = set(schemas.DemandSummary.model_fields) - {"department", "due", "pass_number"}
    return {
        **{name: getattr(demand, name) for name in names},
        "department": _department(demand),
        "due": demand.due_at,
        "pass_number": pass_numbers.get(demand.pass_id) if demand.pass_id else None,
    }


def _event(event: DemandEvent) -> dict[str, Any]:
    actor = event.actor
    department = event.department
    return {
        "action": event.action,
        "at": event.created_at,
        "actor": (actor.name or actor.email) if actor is not None else None,
        "department": {"code": department.code, "scope": department.scope}
        if department is not None
        else None,
        "text": event.text,
        "details": event.details or {},
    }


def demand_json(demand: Demand) -> dict[str, Any]:
    """The whole ticket with its history; the departments' notes only for officials."""
    me = acting_user()
    events = demand_queries.history_for(me, demand)
    values = _summary(demand, demand_queries.pass_numbers([demand]))
    values["history"] = [_event(e) for e in events]
    return schemas.Demand.model_validate(values).as_json()


def _changed(demand: Demand) -> Response:
    return jsonify(demand_json(demand))


@bp.post("/demands")
@roles_required(Role.ENTERPRISE)
def create_demand() -> Response:
    body = _body(schemas.DemandCreate)
    demand = demands.file_demand(
        acting_user(),
        category=str(body.get("category") or ""),
        title=body.get("title") or "",
        description=body.get("description") or "",
        application_id=body.get("application_id"),
        pass_number=body.get("pass_number") or None,
        now=utcnow(),
    )
    response = _changed(demand)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_demand", demand_id=demand.id)
    return response


@bp.get("/demands")
def list_demands() -> Response:
    """Scoped like the tickets themselves; newest first; pages by the last id seen."""
    me = acting_user()
    if me.role not in (Role.ENTERPRISE, *HANDLERS, Role.ADMIN, Role.SUPERVISOR):
        return json_error(403, str(_l("Demand tickets are not for this account.")))
    args = request.args
    try:
        status = DemandState(args["status"]) if args.get("status") else None
        category = DemandCategory(args["category"]) if args.get("category") else None
        limit = min(max(int(args.get("limit", 20)), 1), MAX_PAGE)
        cursor = args.get("cursor", "")
        if cursor and not re.fullmatch(r"[0-9]{1,19}", cursor):
            raise ValueError(cursor)
        before_id = int(cursor) if cursor else None
    except ValueError:
        return json_error(400, str(_l("status, category, limit or cursor is not valid.")))
    mine = MINE.get(args.get("mine", ""))
    if mine is None or (before_id is not None and not 0 <= before_id <= MAX_ROW_ID):
        return json_error(400, str(_l("status, category, limit or cursor is not valid.")))
    if mine and me.role not in HANDLERS:
        return json_error(403, str(_l("mine=1 lists what a department holds.")))
    items = demand_queries.visible_demands(
        me, status=status, category=category, held_only=mine, before_id=before_id, limit=limit + 1
    )
    page = items[:limit]
    numbers = demand_queries.pass_numbers(page)
    answer = schemas.DemandPage.model_validate(
        {
            "items": [_summary(d, numbers) for d in page],
            "next_cursor": str(page[-1].id) if len(items) > limit else None,
        }
    )
    return jsonify(answer.as_json())


@bp.get("/demands/<int:demand_id>")
def get_demand(demand_id: int) -> Response:
    return jsonify(demand_json(_load(demand_id)))


# --- the handling department


@bp.post("/demands/<int:demand_id>/accept")
@roles_required(*HANDLERS)
def accept_demand(demand_id: int) -> Response:
    demand = _load(demand_id)
    demand_handling.accept(acting_user(), demand, now=utcnow())
    return _changed(demand)


@bp.post("/demands/<int:demand_id>/answer")
@roles_required(*HANDLERS)
def answer_demand(demand_id: int) -> Response:
    demand = _load(demand_id)
    body = _body(schemas.DemandAnswer)
    demand_handling.answer(acting_user(), demand, response=body.get("response") or "", now=utcnow())
    return _changed(demand)


@bp.post("/demands/<int:demand_id>/transfer")
@roles_required(*HANDLERS)
def transfer_demand(demand_id: int) -> Response:
    demand = _load(demand_id)
    body = _body(schemas.DemandTransfer)
    demand_handling.transfer(
        acting_user(),
        demand,
        department_code=body.get("department") or "",
        reason=body.get("reason") or "",
        now=utcnow(),
    )
    return _changed(demand)


@bp.post("/demands/<int:demand_id>/copy")
@roles_required(*HANDLERS)
def copy_demand(demand_id: int) -> Response:
    demand = _load(demand_id)
    body = _body(schemas.DemandCopyTo)
    demand_handling.copy_to(
        acting_user(), demand, department_code=body.get("department") or "", now=utcnow()
    )
    return _changed(demand)


@bp.post("/demands/<int:demand_id>/note")
@roles_required(*HANDLERS)
def note_demand(demand_id: int) -> Response:
    demand = _load(demand_id)
    body = _body(schemas.DemandNoteText)
    demand_handling.add_note(acting_user(), demand, text=body.get("text") or "", now=utcnow())
    return _changed(demand)


# --- the enterprise that filed it


@bp.post("/demands/<int:demand_id>/confirm")
@roles_required(Role.ENTERPRISE)
def confirm_demand(demand_id: int) -> Response:
    demand = _load(demand_id)
    body = _body(schemas.DemandConfirm)
    demands.confirm(
        acting_user(),
        demand,
        rating=body.get("rating"),
        comment=body.get("comment") or "",
        now=utcnow(),
    )
    return _changed(demand)


@bp.post("/demands/<int:demand_id>/reopen")
@roles_required(Role.ENTERPRISE)
def reopen_demand(demand_id: int) -> Response:
    demand = _load(demand_id)
    body = _body(schemas.DemandReopen)
    demands.reopen(acting_user(), demand, reason=body.get("reason") or "", now=utcnow())
    return _changed(demand)


@bp.post("/demands/<int:demand_id>/withdraw")
@roles_required(Role.ENTERPRISE)
def withdraw_demand(demand_id: int) -> Response:
    demand = _load(demand_id)
    demands.withdraw(acting_user(), demand, now=utcnow())
    return _changed(demand)
