"""Reading demand tickets: the lists each role may see, a ticket's history, its linked pass."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import joinedload

from permits.demand_workflow import DemandNote, DemandState
from permits.extensions import db
from permits.models import Demand, DemandCategory, DemandCopy, DemandEvent, Pass, Role, User
from permits.services.demand_changes import HANDLING_ROLES, holds, is_copied


def visible_demands(
    user: User,
    *,
    status: DemandState | None = None,
    category: DemandCategory | None = None,
    held_only: bool = False,
    before_id: int | None = None,
    limit: int = 20,
) -> list[Demand]:
    """What a user may list, newest first by keyset on the id: an enterprise its own; a
    department's officers what it holds or was copied on (`held_only`: what it holds);
    supervisors and admins everything; nobody else anything."""
    query = select(Demand)
    department = user.department
    if user.role is Role.ENTERPRISE:
        query = query.where(Demand.enterprise_id == user.enterprise_id)
    elif user.role in HANDLING_ROLES and department is not None:
        held = and_(Demand.department_code == department.code, Demand.scope == department.scope)
        copied = exists().where(
            DemandCopy.demand_id == Demand.id, DemandCopy.department_id == department.id
        )
        query = query.where(held if held_only else or_(held, copied))
    elif user.role not in (Role.ADMIN, Role.SUPERVISOR):
        return []
    if status is not None:
        query = query.where(Demand.status == status)
    if category is not None:
        query = query.where(Demand.category == category)
    if before_id is not None:
        query = query.where(Demand.id < before_id)
    return list(db.session.scalars(query.order_by(Demand.id.desc()).limit(limit)))


def sees_notes(user: User, demand: Demand) -> bool:
    """Working notes are for the departments on the ticket and the supervisors and admins."""
    if user.role in (Role.SUPERVISOR, Role.ADMIN):
        return user.is_active
    return holds(user, demand) or is_copied(user, demand)


def history_for(user: User, demand: Demand) -> list[DemandEvent]:
    """The ticket's events, oldest first, with their actors and departments in the same query;
    the departments' working notes only for those who see them (never the enterprise)."""
    query = (
        select(DemandEvent)
        .where(DemandEvent.demand_id == demand.id)
        .options(joinedload(DemandEvent.actor), joinedload(DemandEvent.department))
        .order_by(DemandEvent.id)
    )
    if not sees_notes(user, demand):
        query = query.where(DemandEvent.action != DemandNote.NOTE.value)
    return list(db.session.scalars(query))


def pass_numbers(demands: Iterable[Demand]) -> dict[int, str]:
    """The numbers of the passes the tickets are about, by pass id, in one query."""
    ids = {d.pass_id for d in demands if d.pass_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(select(Pass.id, Pass.number).where(Pass.id.in_(ids)))
    return {row.id: row.number for row in rows}
