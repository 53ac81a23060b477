"""Who hears of a demand ticket's change: the other side, in their own language (in the app,
and by email when SMTP is configured)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from permits.extensions import db
from permits.labels import DEMAND_CATEGORY_NAMES
from permits.models import Demand, Department, Role, User
from permits.services import notifications
from permits.services.demand_routing import Holder

#: Roles whose users handle a department's tickets.
HANDLERS = (Role.APPROVER, Role.HANDLER)


def params(demand: Demand, **extra: Any) -> dict[str, str]:
    values = {
        "ticket": f"#{demand.id}",
        "title": demand.title,
        "enterprise": demand.enterprise.name,
        "category": str(DEMAND_CATEGORY_NAMES[demand.category]),
    }
    values.update({k: str(v) for k, v in extra.items()})
    return values


def staff_of(code: str, scope: str) -> list[User]:
    """The active users who handle tickets for the department (approvers and handlers)."""
    return list(
        db.session.scalars(
            select(User)
            .join(Department, User.department_id == Department.id)
            .where(
                User.role.in_(HANDLERS),
                User.is_active.is_(True),
                Department.code == code,
                Department.scope == scope,
            )
        )
    )


def tell_holder(demand: Demand, event: str, **extra: Any) -> None:
    if demand.department_code is not None and demand.scope is not None:
        users = staff_of(demand.department_code, demand.scope)
        notifications.notify_demand(users, event, params(demand, **extra), demand.id)


def tell_department(
    demand: Demand, where: Holder | Department | None, event: str, **extra: Any
) -> None:
    if where is None:
        return
    if isinstance(where, Department):
        users = staff_of(where.code, where.scope)
    else:
        users = staff_of(where.department_code, where.scope)
    notifications.notify_demand(users, event, params(demand, **extra), demand.id)


def tell_enterprise(demand: Demand, event: str, **extra: Any) -> None:
    users = notifications.enterprise_users(demand.enterprise_id)
    notifications.notify_demand(users, event, params(demand, **extra), demand.id)


def tell_supervisors(demand: Demand, event: str, **extra: Any) -> None:
    users = db.session.scalars(
        select(User).where(User.role == Role.SUPERVISOR, User.is_active.is_(True))
    )
    notifications.notify_demand(users, event, params(demand, **extra), demand.id)
