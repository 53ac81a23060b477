"""Escalation of overdue demand tickets, by the same run as applications' (`flask escalate`):
the holding department's staff are told once a ticket is overdue (not accepted, or not answered,
in time), every supervisor once it is past twice its time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from permits import audit
from permits.demand_workflow import HELD
from permits.extensions import db
from permits.models import Demand
from permits.services import demand_notices


@dataclass(frozen=True)
class EscalatedDemands:
    #: Tickets whose holding department was told they are overdue.
    to_departments: int
    #: Tickets the supervisors were told about (past twice their time).
    to_supervisors: int


#: Overdue tickets looked at per run; the next run takes the rest.
ESCALATION_BATCH = 1000


def is_twice_overdue(demand: Demand, now: datetime) -> bool:
    """The holder's task has lasted twice as long as it was given."""
    start, due = demand.due_from, demand.due_at
    if start is None or due is None:
        return False
    return now >= start + 2 * (due - start)


def escalate_overdue_demands(now: datetime) -> EscalatedDemands:
    """Each overdue ticket is escalated once per level and task, also when two runs overlap
    (the UPDATE names the revision and level seen; an action on the ticket resets the level)."""
    candidates = db.session.scalars(
        select(Demand)
        .where(Demand.status.in_(HELD), Demand.due_at < now, Demand.escalation_level < 2)
        .order_by(Demand.due_at, Demand.id)
        .limit(ESCALATION_BATCH)
        .execution_options(populate_existing=True)
    ).all()
    to_departments = to_supervisors = 0
    for demand in candidates:
        seen = demand.escalation_level
        level = 2 if is_twice_overdue(demand, now) else 1
        if level <= seen:
            continue
        claimed = db.session.execute(
            update(Demand)
            .where(
                Demand.id == demand.id,
                Demand.revision == demand.revision,
                Demand.escalation_level == seen,
            )
            .values(escalation_level=level)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        set_committed_value(demand, "escalation_level", level)
        if seen == 0:
            demand_notices.tell_holder(demand, "demand_overdue")
            to_departments += 1
        if level == 2:
            demand_notices.tell_supervisors(
                demand, "demand_overdue_twice", department=demand.department_code or ""
            )
            to_supervisors += 1
        audit.record(
            "demand.escalate",
            actor=None,
            obj=demand,
            details={"level": level, "status": demand.status.value},
            now=now,
        )
    db.session.flush()
    return EscalatedDemands(to_departments=to_departments, to_supervisors=to_supervisors)
