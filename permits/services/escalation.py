"""Escalation of overdue work: approvers are told once a step is overdue, every supervisor once
it is past twice its time limit (`flask escalate`, from a timer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from permits import audit
from permits.extensions import db
from permits.models import Application, Role, User
from permits.services import notifications
from permits.workflow import State


@dataclass(frozen=True)
class Escalated:
    #: Applications whose approvers were told they are overdue.
    to_approvers: int
    #: Applications the supervisors were told about (past twice their time limit).
    to_supervisors: int


#: Overdue applications looked at per run; the next run takes the rest.
ESCALATION_BATCH = 1000


def is_twice_overdue(application: Application, now: datetime) -> bool:
    """Past twice the step's time limit: the step has lasted twice as long as it was given."""
    entered, due = application.step_entered_at, application.step_due_at
    if entered is None or due is None:
        return False
    return now >= entered + 2 * (due - entered)


def escalate_overdue(now: datetime) -> Escalated:
    """Tells approvers of a step once it is overdue and every supervisor once it is past twice
    its time limit; each exactly once per step, also when two runs overlap."""
    candidates = db.session.scalars(
        select(Application)
        .where(
            Application.status == State.IN_REVIEW,
            Application.step_due_at < now,
            Application.escalation_level < 2,
        )
        .order_by(Application.step_due_at, Application.id)
        .limit(ESCALATION_BATCH)
        # The level as stored now, not as an object already in the session remembers it.
        .execution_options(populate_existing=True)
    ).all()
    supervisors: list[User] | None = None
    to_approvers = to_supervisors = 0
    for application in candidates:
        seen = application.escalation_level
        level = 2 if is_twice_overdue(application, now) else 1
        if level <= seen:
            continue
        # The UPDATE names the level, step and round we saw: of two runs, only one matches.
        claimed = db.session.execute(
            update(Application)
            .where(
                Application.id == application.id,
                Application.status == State.IN_REVIEW,
                Application.round == application.round,
                Application.current_step == application.current_step,
                Application.escalation_level == seen,
            )
            .values(escalation_level=level)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        set_committed_value(application, "escalation_level", level)
        params = {
            "step": application.current_step,
            "department": f"{application.current_department_code} ({application.current_scope})",
        }
        if seen == 0:
            notifications.notify(
                notifications.approvers_of(
                    application.current_department_code or "", application.current_scope or ""
                ),
                "overdue",
                application,
                **params,
            )
            to_approvers += 1
        if level == 2:
            if supervisors is None:
                supervisors = list(
                    db.session.scalars(
                        select(User).where(User.role == Role.SUPERVISOR, User.is_active.is_(True))
                    )
                )
            notifications.notify(supervisors, "overdue_twice", application, **params)
            to_supervisors += 1
        audit.record(
            "application.escalate",
            actor=None,
            obj=application,
            details={"level": level, "step": application.current_step},
            now=now,
        )
    db.session.flush()
    return Escalated(to_approvers=to_approvers, to_supervisors=to_supervisors)
