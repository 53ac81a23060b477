"""Demand tickets, the enterprise's verbs: file a difficulty, withdraw it before it is accepted,
confirm an answer solved it (with a rating) or reopen it. The departments' verbs are in
services.demand_handling; the one way a ticket changes, in services.demand_changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from permits.database import MAX_ROW_ID
from permits.demand_workflow import DemandAction, DemandNote, next_state
from permits.extensions import db
from permits.models import (
    CITY_SCOPE,
    Application,
    Demand,
    DemandCategory,
    Pass,
    Role,
    User,
)
from permits.models.demands import DESCRIPTION_MAX, REASON_MAX, TITLE_MAX
from permits.services import demand_notices, demand_routing
from permits.services.demand_changes import (
    INVALID,
    STOP_CLOCK,
    accept_due,
    add_copy,
    answer_due,
    checked_text,
    department_of,
    holder_of,
    move,
    name_of,
    owns,
    record,
    require,
)
from permits.services.errors import ValidationFailed
from permits.terms import terms_of


def file_demand(
    actor: User,
    *,
    category: str,
    title: str,
    description: str,
    application_id: int | None = None,
    pass_number: str | None = None,
    now: datetime,
) -> Demand:
    """Files a difficulty; it goes at once to the lead department of its category in the
    enterprise's district, whose staff are told."""
    require(
        actor.role is Role.ENTERPRISE and actor.enterprise is not None,
        _l("Only an enterprise files demands."),
    )
    enterprise = actor.enterprise
    assert enterprise is not None
    problems: dict[str, str] = {}
    chosen = next((c for c in DemandCategory if c.value == category), None)
    if chosen is None:
        problems["category"] = str(_l("Choose one of the listed categories."))
    title = checked_text(problems, "title", title, TITLE_MAX, required=True)
    description = checked_text(problems, "description", description, DESCRIPTION_MAX, required=True)
    linked_pass = None
    if application_id is not None and (
        not 0 <= application_id <= MAX_ROW_ID  # no row has it; PostgreSQL refuses to compare
        or db.session.scalar(
            select(Application.id).where(
                Application.id == application_id, Application.enterprise_id == enterprise.id
            )
        )
        is None
    ):
        problems["application_id"] = str(_l("None of your applications has this number."))
    if pass_number:
        linked_pass = db.session.scalar(
            select(Pass)
            .join(Application, Pass.application_id == Application.id)
            .where(Pass.number == pass_number.strip(), Application.enterprise_id == enterprise.id)
        )
        if linked_pass is None:
            problems["pass_number"] = str(_l("None of your passes has this number."))
    if problems:
        raise ValidationFailed(INVALID, problems)
    assert chosen is not None
    routing = demand_routing.current_routing()
    holder = demand_routing.holder_for(chosen, enterprise.district, routing)
    demand = Demand(
        enterprise_id=enterprise.id,
        created_by_id=actor.id,
        category=chosen,
        title=title,
        description=description,
        terms=terms_of(f"{title}\n{description}"),
        district=enterprise.district,
        application_id=application_id,
        pass_id=linked_pass.id if linked_pass is not None else None,
        status=next_state(None, DemandAction.FILE),
        revision=0,
        routing_id=routing.id,
        department_code=holder.department_code,
        scope=holder.scope,
        transfers=0,
        due_at=accept_due(now),
        due_from=now,
        escalation_level=0,
        created_at=now,
        updated_at=now,
    )
    db.session.add(demand)
    db.session.flush()
    record(demand, DemandAction.FILE, actor, now=now, details={"department": name_of(holder)})
    demand_notices.tell_holder(demand, "demand_waiting")
    return demand


def withdraw(actor: User, demand: Demand, *, now: datetime) -> Demand:
    """The enterprise takes back a ticket its department has not accepted yet."""
    require(owns(actor, demand), _l("Only the enterprise that filed it may withdraw it."))
    holder = holder_of(demand)
    move(demand, DemandAction.WITHDRAW, now=now, values=STOP_CLOCK | {"closed_at": now})
    record(demand, DemandAction.WITHDRAW, actor, now=now)
    demand_notices.tell_department(demand, holder, "demand_withdrawn")
    return demand


def confirm(
    actor: User, demand: Demand, *, rating: Any, comment: str = "", now: datetime
) -> Demand:
    """The enterprise says the answer solved it and rates the handling 1-5; final."""
    require(owns(actor, demand), _l("Only the enterprise that filed it may confirm it."))
    problems: dict[str, str] = {}
    stars = rating if isinstance(rating, int) and not isinstance(rating, bool) else None
    if isinstance(rating, str) and rating.strip().isdigit():
        stars = int(rating.strip())
    if stars is None or not 1 <= stars <= 5:
        problems["rating"] = str(_l("Rate the handling from 1 to 5."))
    comment = checked_text(problems, "comment", comment, REASON_MAX, required=False)
    if problems:
        raise ValidationFailed(INVALID, problems)
    holder = holder_of(demand)
    move(
        demand,
        DemandAction.CONFIRM,
        now=now,
        values=STOP_CLOCK | {"closed_at": now, "rating": stars},
    )
    record(demand, DemandAction.CONFIRM, actor, now=now, text=comment, details={"rating": stars})
    demand_notices.tell_department(demand, holder, "demand_confirmed")
    return demand


def reopen(actor: User, demand: Demand, *, reason: str, now: datetime) -> Demand:
    """Not solved: back to the same department with a new answer deadline, and the city-wide
    department of the same code copied in."""
    require(owns(actor, demand), _l("Only the enterprise that filed it may reopen it."))
    problems: dict[str, str] = {}
    reason = checked_text(problems, "reason", reason, REASON_MAX, required=True)
    if problems:
        raise ValidationFailed(INVALID, problems)
    move(
        demand,
        DemandAction.REOPEN,
        now=now,
        values={"due_at": answer_due(now), "due_from": now, "escalation_level": 0},
    )
    record(demand, DemandAction.REOPEN, actor, now=now, text=reason)
    demand_notices.tell_holder(demand, "demand_reopened", reason=reason)
    if demand.scope != CITY_SCOPE and demand.department_code is not None:
        city = department_of(demand.department_code, CITY_SCOPE)
        if city is not None and add_copy(demand, city, None, now=now):
            record(demand, DemandNote.COPY, None, now=now, details={"department": name_of(city)})
            demand_notices.tell_department(demand, city, "demand_copied")
    return demand
