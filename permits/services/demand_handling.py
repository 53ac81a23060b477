"""Demand tickets, the departments' verbs: accept, answer, transfer (the third goes to the
supervisors, who assign), copy in a co-handling department, add a working note; and the
periodic closing of answers the enterprise left unconfirmed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from permits.demand_workflow import FINAL, DemandAction, DemandNote, DemandState
from permits.extensions import db
from permits.models import (
    DEPARTMENT_CODES,
    Demand,
    DemandEvent,
    Department,
    Role,
    User,
)
from permits.models.demands import REASON_MAX, RESPONSE_MAX
from permits.outcome import answered_alone, on_its_own
from permits.services import demand_notices
from permits.services.demand_changes import (
    INVALID,
    LET_GO,
    MOVED,
    STOP_CLOCK,
    accept_due,
    add_copy,
    answer_due,
    checked_text,
    confirm_due,
    department_of,
    holder_of,
    holds,
    is_copied,
    move,
    name_of,
    next_of,
    record,
    require,
)
from permits.services.errors import Conflict, ValidationFailed


def accept(actor: User, demand: Demand, *, now: datetime) -> Demand:
    """The department acknowledges the ticket; the answer is due in DEMAND_ANSWER_DAYS."""
    require(holds(actor, demand), _l("This ticket is not with your department."))
    move(
        demand,
        DemandAction.ACCEPT,
        now=now,
        values={
            "accepted_at": now,
            "due_at": answer_due(now),
            "due_from": now,
            "escalation_level": 0,
        },
    )
    record(demand, DemandAction.ACCEPT, actor, now=now)
    demand_notices.tell_enterprise(demand, "demand_accepted")
    return demand


def answer(actor: User, demand: Demand, *, response: str, now: datetime) -> DemandEvent:
    """What was done or will be done; the enterprise confirms it or reopens the ticket, and
    says nothing for DEMAND_CONFIRM_DAYS at its peril (the ticket closes itself)."""
    require(holds(actor, demand), _l("This ticket is not with your department."))
    problems: dict[str, str] = {}
    response = checked_text(problems, "response", response, RESPONSE_MAX, required=True)
    if problems:
        raise ValidationFailed(INVALID, problems)
    move(
        demand,
        DemandAction.ANSWER,
        now=now,
        values={
            "answered_at": now,
            "due_at": confirm_due(now),
            "due_from": now,
            "escalation_level": 0,
        },
    )
    event = record(demand, DemandAction.ANSWER, actor, now=now, text=response)
    demand_notices.tell_enterprise(demand, "demand_answered")
    return event


def transfer(
    actor: User, demand: Demand, *, department_code: str, reason: str, now: datetime
) -> Demand:
    """To the department of another code (same district, else city-wide), with a reason; the
    third transfer goes to the supervisors instead, who choose (no ticket bounces forever)."""
    require(holds(actor, demand), _l("This ticket is not with your department."))
    problems: dict[str, str] = {}
    reason = checked_text(problems, "reason", reason, REASON_MAX, required=True)
    target = None
    if department_code not in DEPARTMENT_CODES or department_code == demand.department_code:
        problems["department"] = str(_l("Choose another department."))
    else:
        target = department_of(department_code, demand.district)
        if target is None:
            problems["department"] = str(_l("This department is not set up in this service."))
    if problems:
        raise ValidationFailed(INVALID, problems)
    assert target is not None
    was = holder_of(demand)
    to: dict[str, str] | str | None
    if next_of(demand, DemandAction.TRANSFER) is DemandState.ASSIGNED_BY_SUPERVISOR:
        values: dict[str, Any] = LET_GO | {"transfers": demand.transfers + 1}
        to = "supervisors"
    else:
        values = {
            "department_code": target.code,
            "scope": target.scope,
            "transfers": demand.transfers + 1,
            "due_at": accept_due(now) if demand.status is DemandState.OPEN else answer_due(now),
            "due_from": now,
            "escalation_level": 0,
        }
        to = name_of(target)
    target_state = move(demand, DemandAction.TRANSFER, now=now, values=values)
    record(
        demand,
        DemandAction.TRANSFER,
        actor,
        now=now,
        text=reason,
        details={"from": name_of(was), "to": to, "asked_for": name_of(target)},
    )
    if target_state is DemandState.ASSIGNED_BY_SUPERVISOR:
        demand_notices.tell_supervisors(demand, "demand_to_assign")
    else:
        demand_notices.tell_holder(demand, "demand_waiting")
    return demand


def assign(
    actor: User, demand: Demand, *, department_code: str, scope: str, now: datetime
) -> Demand:
    """The supervisors give a ticket transferred too often its department, which accepts it
    afresh; its transfers count from zero again."""
    require(
        actor.is_active and actor.role is Role.SUPERVISOR,
        _l("Only the supervisors assign tickets."),
    )
    target = db.session.scalar(
        select(Department).where(Department.code == department_code, Department.scope == scope)
    )
    if target is None:
        raise ValidationFailed(
            INVALID, {"department": str(_l("Choose one of the listed departments."))}
        )
    move(
        demand,
        DemandAction.ASSIGN,
        now=now,
        values={
            "department_code": target.code,
            "scope": target.scope,
            "transfers": 0,
            "due_at": accept_due(now),
            "due_from": now,
            "escalation_level": 0,
        },
    )
    record(demand, DemandAction.ASSIGN, actor, now=now, details={"to": name_of(target)})
    demand_notices.tell_holder(demand, "demand_waiting")
    return demand


def copy_to(actor: User, demand: Demand, *, department_code: str, now: datetime) -> Demand:
    """The lead department adds a co-handling department (of the district, else city-wide)."""
    require(holds(actor, demand), _l("This ticket is not with your department."))
    if demand.status in FINAL:
        raise Conflict(MOVED)
    target = (
        department_of(department_code, demand.district)
        if department_code in DEPARTMENT_CODES
        else None
    )
    if target is None or (target.code, target.scope) == (demand.department_code, demand.scope):
        raise ValidationFailed(INVALID, {"department": str(_l("Choose another department."))})
    if add_copy(demand, target, actor, now=now):
        record(demand, DemandNote.COPY, actor, now=now, details={"department": name_of(target)})
        demand_notices.tell_department(demand, target, "demand_copied")
    return demand


def add_note(actor: User, demand: Demand, *, text: str, now: datetime) -> DemandEvent:
    """A working note between the departments on the ticket (the enterprise does not see it)."""
    require(
        holds(actor, demand) or is_copied(actor, demand),
        _l("This ticket is not with your department."),
    )
    if demand.status in FINAL:
        raise Conflict(MOVED)
    problems: dict[str, str] = {}
    text = checked_text(problems, "text", text, RESPONSE_MAX, required=True)
    if problems:
        raise ValidationFailed(INVALID, problems)
    return record(demand, DemandNote.NOTE, actor, now=now, text=text, details={"internal": True})


def close_unconfirmed(*, now: datetime, limit: int = 1000) -> int:
    """Closes answers the enterprise left unconfirmed past their deadline; how many. A ticket
    confirmed or reopened meanwhile is left alone (its revision moved)."""
    due: Sequence[Demand] = db.session.scalars(
        select(Demand)
        .where(Demand.status == DemandState.ANSWERED, Demand.due_at <= now)
        .order_by(Demand.due_at, Demand.id)
        .limit(limit)
    ).all()
    closed = 0
    for demand in due:
        try:
            with on_its_own():
                move(demand, DemandAction.EXPIRE, now=now, values=STOP_CLOCK | {"closed_at": now})
                record(demand, DemandAction.EXPIRE, None, now=now)
        except Conflict as moved:
            answered_alone(moved)  # confirmed or reopened meanwhile: nothing to close
            continue
        demand_notices.tell_enterprise(demand, "demand_closed_unconfirmed")
        closed += 1
    return closed
