"""Reading demand tickets: an enterprise's own list, a department's queue (overdue first), the
tickets a department was copied in on, those waiting for the supervisors, and a ticket's history
as each side may read it. Lists are read by keyset, so a page costs the same on page 1 and 1,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from permits.demand_workflow import FINAL, HELD, DemandState
from permits.extensions import db
from permits.models import (
    Demand,
    DemandCategory,
    DemandCopy,
    Department,
)


def enterprise_demands(
    enterprise_id: int,
    *,
    status: DemandState | None = None,
    before_id: int | None = None,
    limit: int = 20,
) -> list[Demand]:
    """The enterprise's tickets, newest first (ix_demands_enterprise)."""
    query = select(Demand).where(Demand.enterprise_id == enterprise_id)
    if status is not None:
        query = query.where(Demand.status == status)
    if before_id is not None:
        query = query.where(Demand.id < before_id)
    return list(db.session.scalars(query.order_by(Demand.id.desc()).limit(limit)))


@dataclass(frozen=True)
class QueueFilter:
    category: DemandCategory | None = None
    #: One state; None: every state in which the department has something to do (HELD).
    status: DemandState | None = None
    #: The enterprise's district (a city-wide department holds tickets of every district).
    district: str | None = None


def encode_cursor(demand: Demand) -> str:
    """Where the next page of a queue starts: after this ticket's due time and id."""
    due = demand.due_at.isoformat() if demand.due_at is not None else ""
    return f"{due}|{demand.id}"


def _decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    due, _, ident = (cursor or "").partition("|")
    try:
        return datetime.fromisoformat(due), int(ident)
    except ValueError:
        return None


def department_queue(
    department: Department,
    filters: QueueFilter,
    *,
    after: str | None = None,
    limit: int = 25,
) -> list[Demand]:
    """What the department holds, soonest due first, so the overdue lead (ix_demands_queue)."""
    states = [filters.status] if filters.status is not None else sorted(HELD)
    query = (
        select(Demand)
        .options(joinedload(Demand.enterprise))
        .where(
            Demand.department_code == department.code,
            Demand.scope == department.scope,
            Demand.status.in_(states),
        )
    )
    if filters.category is not None:
        query = query.where(Demand.category == filters.category)
    if filters.district is not None:
        query = query.where(Demand.district == filters.district)
    start = _decode_cursor(after)
    if start is not None:
        due, ident = start
        query = query.where(or_(Demand.due_at > due, and_(Demand.due_at == due, Demand.id > ident)))
    return list(db.session.scalars(query.order_by(Demand.due_at, Demand.id).limit(limit)))


def copied_to(department: Department, *, limit: int = 25) -> list[Demand]:
    """The tickets still open on which the department was copied in, newest first."""
    return list(
        db.session.scalars(
            select(Demand)
            .join(DemandCopy, DemandCopy.demand_id == Demand.id)
            .options(joinedload(Demand.enterprise))
            .where(DemandCopy.department_id == department.id, Demand.status.not_in(FINAL))
            .order_by(Demand.id.desc())
            .limit(limit)
        )
    )


def waiting_for_supervisors(*, after_id: int | None = None, limit: int = 25) -> list[Demand]:
    """Tickets transferred too often, which the supervisors assign; oldest first."""
    query = (
        select(Demand)
        .options(joinedload(Demand.enterprise))
        .where(Demand.status == DemandState.ASSIGNED_BY_SUPERVISOR)
    )
    if after_id is not None:
        query = query.where(Demand.id > after_id)
    return list(db.session.scalars(query.order_by(Demand.id).limit(limit)))
