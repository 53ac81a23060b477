"""Reading applications: their timeline and files, and the lists each role may see."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, exists, func, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import joinedload

from permits.extensions import db
from permits.models import Application, Attachment, Decision, Kind, Role, User, Workflow
from permits.workflow import State


def history(application: Application) -> list[Decision]:
    """Every decision on the application, oldest first, with its actor and department: one
    query, where walking `application.decisions` loads each other actor and department alone."""
    return list(db.session.scalars(_HISTORY, {"application_id": application.id}))


def attachments_of(application: Application) -> list[Attachment]:
    """The application's files, oldest first: `application.attachments`, read by a statement
    built once when not loaded yet (the relationship's lazy load cost twice as much)."""
    if "attachments" not in sa_inspect(application).unloaded:
        return list(application.attachments)
    return list(db.session.scalars(_ATTACHMENTS, {"application_id": application.id}))


def for_decision(application_id: int) -> Application | None:
    """The application with what a decision and its answer read, in the same query."""
    return db.session.scalars(_FOR_DECISION, {"id": application_id}).unique().one_or_none()


#: What a decision and its answer read: the enterprise (the answer, the notices), the
#: applicant (the notices), the chain with its steps (the decision) and the drivers (the
#: conflict check, the answer): four round trips fewer. A few steps times a few drivers is a
#: few rows. Built once, with its cache key.
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
# Built once: the answer to every decision reads both.
_HISTORY = (
    select(Decision)
    .where(Decision.application_id == bindparam("application_id"))
    .options(joinedload(Decision.actor), joinedload(Decision.department))
    .order_by(Decision.id)
)
_ATTACHMENTS = (
    select(Attachment)
    .where(Attachment.application_id == bindparam("application_id"))
    .order_by(Attachment.id)
)


def enterprise_applications(
    enterprise_id: int,
    *,
    status: State | None = None,
    kind: Kind | None = None,
    before_id: int | None = None,
    limit: int = 20,
) -> list[Application]:
    """The enterprise's applications, newest first, by keyset on the id."""
    query = select(Application).where(Application.enterprise_id == enterprise_id)
    if status is not None:
        query = query.where(Application.status == status)
    if kind is not None:
        query = query.where(Application.kind == kind)
    if before_id is not None:
        query = query.where(Application.id < before_id)
    return list(db.session.scalars(query.order_by(Application.id.desc()).limit(limit)))


def visible_applications(
    user: User,
    *,
    status: State | None = None,
    kind: Kind | None = None,
    after_id: int | None = None,
    newest_first: bool = True,
    limit: int = 20,
) -> list[Application]:
    """What a user may list: an enterprise its own; an approver what waits at or was decided by
    its department; admins and supervisors everything. Keyset pages on the id."""
    query = select(Application)
    if user.role is Role.ENTERPRISE:
        query = query.where(Application.enterprise_id == user.enterprise_id)
    elif user.role is Role.APPROVER and user.department is not None:
        department = user.department
        decided_here = exists().where(
            Decision.application_id == Application.id, Decision.department_id == department.id
        )
        query = query.where(
            or_(
                and_(
                    Application.current_department_code == department.code,
                    Application.current_scope == department.scope,
                ),
                decided_here,
            )
        )
    elif user.role not in (Role.ADMIN, Role.SUPERVISOR):
        return []
    if status is not None:
        query = query.where(Application.status == status)
    if kind is not None:
        query = query.where(Application.kind == kind)
    if after_id is not None:
        query = query.where(
            Application.id < after_id if newest_first else Application.id > after_id
        )
    order = Application.id.desc() if newest_first else Application.id.asc()
    return list(db.session.scalars(query.order_by(order).limit(limit)))


def count_by_status(enterprise_id: int) -> dict[State, int]:
    rows = db.session.execute(
        select(Application.status, func.count())
        .where(Application.enterprise_id == enterprise_id)
        .group_by(Application.status)
    )
    return {State(status): int(n) for status, n in rows}
