"""Demand tickets: the one way a ticket changes (a conditional UPDATE on the revision the actor
saw, so of two simultaneous changes exactly one lands and the other is a Conflict, 409, on
SQLite and PostgreSQL alike), its history entries, its deadlines and who may act on it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value

from permits import audit
from permits.demand_workflow import (
    DemandAction,
    DemandNote,
    DemandState,
    Facts,
    IllegalDemandTransition,
    next_state,
)
from permits.extensions import db
from permits.models import Demand, DemandCopy, DemandEvent, Department, Role, User
from permits.models.demands import TITLE_MAX
from permits.services import demand_routing
from permits.services import text as typed_text
from permits.services.demand_routing import Holder
from permits.services.errors import Conflict, NotAllowed
from permits.working_time import WorkingWeek, add_working_hours

INVALID = _l("Some fields need your attention.")
MOVED = _l("This ticket changed in the meantime; reload it.")
#: Roles whose users handle the tickets of their department.
HANDLING_ROLES = frozenset({Role.APPROVER, Role.HANDLER})


def holds(user: User, demand: Demand) -> bool:
    """The user is of the department that holds the ticket now, and handles tickets."""
    department = user.department
    return (
        user.is_active
        and user.role in HANDLING_ROLES
        and department is not None
        and demand.department_code == department.code
        and demand.scope == department.scope
    )


def is_copied(user: User, demand: Demand) -> bool:
    """The user's department was copied in (co-handling: it sees the ticket and adds notes)."""
    return (
        user.is_active
        and user.role in HANDLING_ROLES
        and user.department_id is not None
        and any(copy.department_id == user.department_id for copy in demand.copies)
    )


def owns(user: User, demand: Demand) -> bool:
    return (
        user.is_active
        and user.role is Role.ENTERPRISE
        and user.enterprise_id == demand.enterprise_id
    )


def can_see(user: User, demand: Demand) -> bool:
    """The enterprise its own; a department those it holds or was copied to; supervisors and
    admins all."""
    if user.role in (Role.SUPERVISOR, Role.ADMIN):
        return user.is_active
    return owns(user, demand) or holds(user, demand) or is_copied(user, demand)


def require(allowed: bool, message: Any) -> None:
    if not allowed:
        raise NotAllowed(message)


def accept_due(now: datetime) -> datetime:
    """A ticket is accepted within DEMAND_ACCEPT_HOURS working hours (DEMAND_WORKING_WEEK)."""
    config = current_app.config
    week = WorkingWeek(
        ZoneInfo(config["TIMEZONE"]),
        weekdays=frozenset(int(d) for d in config["DEMAND_WORKING_DAYS"]),
    )
    return add_working_hours(now, float(config["DEMAND_ACCEPT_HOURS"]), week)


def answer_due(now: datetime) -> datetime:
    return now + timedelta(days=int(current_app.config["DEMAND_ANSWER_DAYS"]))


def confirm_due(now: datetime) -> datetime:
    """An answer the enterprise says nothing about closes itself after this."""
    return now + timedelta(days=int(current_app.config["DEMAND_CONFIRM_DAYS"]))


def move(
    demand: Demand,
    action: DemandAction,
    *,
    now: datetime,
    values: dict[str, Any] | None = None,
) -> DemandState:
    """Applies `action` with the other columns that change with it: one conditional UPDATE on
    the state and revision the actor saw; Conflict when another change landed first."""
    target = next_of(demand, action)
    changes = {
        "status": target,
        "revision": demand.revision + 1,
        "updated_at": now,
        **(values or {}),
    }
    result = db.session.execute(
        update(Demand)
        .where(
            Demand.id == demand.id,
            Demand.status == demand.status,
            Demand.revision == demand.revision,
        )
        .values(changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(MOVED)
    for name, value in changes.items():
        set_committed_value(demand, name, value)
    return target


def next_of(demand: Demand, action: DemandAction) -> DemandState:
    """Where the action leads from the state the actor saw; a Conflict (409) when the state
    does not allow it (someone else moved the ticket, or a stale page asked)."""
    try:
        return next_state(demand.status, action, Facts(transfers=demand.transfers))
    except IllegalDemandTransition:
        raise Conflict(MOVED) from None


def record(
    demand: Demand,
    action: DemandAction | DemandNote,
    actor: User | None,
    *,
    now: datetime,
    text: str = "",
    details: dict[str, Any] | None = None,
) -> DemandEvent:
    event = DemandEvent(
        demand_id=demand.id,
        action=action.value,
        actor_id=actor.id if actor is not None else None,
        department_id=actor.department_id if actor is not None else None,
        text=text,
        details=details or {},
        created_at=now,
    )
    db.session.add(event)
    db.session.flush()
    audit.record(
        f"demand.{action.value}",
        actor=actor,
        obj=demand,
        details={"event": event.id, **(details or {})},
        now=now,
    )
    return event


def checked_text(
    problems: dict[str, str], name: str, value: str, limit: int, *, required: bool
) -> str:
    value = (value or "").strip()
    if required and not value:
        problems[name] = str(_l("This field is required."))
    elif len(value) > limit:
        problems[name] = str(_l("At most %(n)d characters.", n=limit))
    typed_text.check(problems, {name: value}, multiline=limit > TITLE_MAX)
    return value


#: The columns of a ticket whose clock stops (it is closed or withdrawn). The department that
#: held it keeps it: it still reads the ticket it handled, and the figures count it there.
STOP_CLOCK: dict[str, Any] = {"due_at": None, "due_from": None, "escalation_level": 0}
#: The columns of a ticket no department holds any more (it waits for the supervisors).
LET_GO: dict[str, Any] = {"department_code": None, "scope": None, **STOP_CLOCK}


def holder_of(demand: Demand) -> Holder | None:
    if demand.department_code is None or demand.scope is None:
        return None
    return Holder(demand.department_code, demand.scope)


def department_of(code: str, district: str) -> Department | None:
    return demand_routing.department(code, district)


def name_of(where: Holder | Department | None) -> dict[str, str] | None:
    if where is None:
        return None
    if isinstance(where, Department):
        return {"code": where.code, "scope": where.scope}
    return {"code": where.department_code, "scope": where.scope}


def add_copy(demand: Demand, department: Department, actor: User | None, *, now: datetime) -> bool:
    """Copies the department in; False when it was already (a unique key, not a read first)."""
    session = db.session()
    dialect_insert = (
        postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    )
    result = session.execute(
        dialect_insert(DemandCopy)
        .values(
            demand_id=demand.id,
            department_id=department.id,
            added_by_id=actor.id if actor is not None else None,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["demand_id", "department_id"])
    )
    session.expire(demand, ["copies"])
    return bool(result.rowcount)  # type: ignore[attr-defined]
