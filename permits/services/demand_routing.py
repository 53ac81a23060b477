"""Which department leads a demand ticket: a table "category → department code", versioned
like the workflow chains (admins edit it; every save is a new version; tickets keep theirs).

The department of that code in the enterprise's district handles the ticket; a district that
has none sends it to the city-wide department of the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from permits import audit
from permits.extensions import db
from permits.models import (
    CITY_SCOPE,
    DEPARTMENT_CODES,
    DemandCategory,
    DemandRoute,
    DemandRouting,
    Department,
    User,
)
from permits.services.errors import Conflict, ValidationFailed

C = DemandCategory
#: DESIGN.md, "Demand tickets": the lead department of each category.
DEFAULT_ROUTES: Mapping[DemandCategory, str] = {
    C.STAFF_RETURN: "economy",
    C.SUPPLY_CHAIN: "economy",
    C.POLICY: "economy",
    C.OTHER: "economy",
    C.LOGISTICS: "transport",
    C.PREVENTION_SUPPLIES: "health",
    C.TESTING: "health",
    C.FINANCE: "development_reform",
    C.UTILITIES: "development_reform",
}
del C

ROUTING_MOVED = _l(
    "Another administrator saved a new version of the routing meanwhile. Reload the page, look "
    "at their version and make your change again."
)


@dataclass(frozen=True)
class Holder:
    """The department (code and scope) that holds a ticket."""

    department_code: str
    scope: str


def current_routing() -> DemandRouting:
    """The table new tickets follow; made from the defaults the first time it is needed."""
    routing = db.session.scalar(_CURRENT)
    if routing is not None:
        return routing
    routing = DemandRouting(version=1, is_current=True)
    routing.routes = [
        DemandRoute(category=category, department_code=code)
        for category, code in DEFAULT_ROUTES.items()
    ]
    try:
        with db.session.begin_nested():
            db.session.add(routing)
    except IntegrityError:
        # Two first tickets at once: the other one made it.
        routing = db.session.scalars(_CURRENT).one()
    return routing


_CURRENT = select(DemandRouting).where(DemandRouting.is_current.is_(True))


def routes_of(routing: DemandRouting) -> dict[DemandCategory, str]:
    return {route.category: route.department_code for route in routing.routes}


def department(code: str, district: str) -> Department | None:
    """The department of `code` for `district`: the district's own, else the city-wide one."""
    found = db.session.scalars(
        select(Department).where(
            Department.code == code, Department.scope.in_([district, CITY_SCOPE])
        )
    ).all()
    by_scope = {d.scope: d for d in found}
    return by_scope.get(district) or by_scope.get(CITY_SCOPE)


def holder_for(category: DemandCategory, district: str, routing: DemandRouting) -> Holder:
    """Who leads a new ticket of this category from this district."""
    code = routes_of(routing).get(category) or DEFAULT_ROUTES[category]
    found = department(code, district)
    return Holder(code, found.scope if found is not None else district)


def check_routes(rows: Mapping[str, str]) -> dict[DemandCategory, str]:
    """A routing table as typed by an admin: every category, each to a known department code."""
    problems: dict[str, str] = {}
    routes: dict[DemandCategory, str] = {}
    for category in DemandCategory:
        code = (rows.get(category.value) or "").strip()
        if code not in DEPARTMENT_CODES:
            problems[f"routes.{category.value}"] = str(_l("Choose one of the listed departments."))
        routes[category] = code
    if problems:
        raise ValidationFailed(_l("Some fields need your attention."), problems)
    return routes


def save_routing(
    routes: Mapping[DemandCategory, str], *, base_version: int, actor: User, now: datetime
) -> DemandRouting:
    """Saves the table as a new version that new tickets follow; refused (Conflict) when
    another admin saved since `base_version`, rather than overwriting theirs."""
    current = current_routing()
    if current.version != base_version:
        raise Conflict(ROUTING_MOVED)
    if routes_of(current) == dict(routes):
        return current
    demoted = db.session.execute(
        update(DemandRouting)
        .where(DemandRouting.id == current.id, DemandRouting.is_current.is_(True))
        .values(is_current=False)
        .execution_options(synchronize_session=False)
    )
    if demoted.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(ROUTING_MOVED)
    db.session.expire(current, ["is_current"])
    latest = db.session.scalar(select(func.max(DemandRouting.version)))
    routing = DemandRouting(
        version=(latest or 0) + 1, is_current=True, created_by_id=actor.id, created_at=now
    )
    routing.routes = [DemandRoute(category=c, department_code=code) for c, code in routes.items()]
    try:
        with db.session.begin_nested():
            db.session.add(routing)
    except IntegrityError:
        raise Conflict(ROUTING_MOVED) from None
    audit.record(
        "demand_routing.save",
        actor=actor,
        obj=routing,
        details={
            "version": routing.version,
            "previous_version": current.version,
            "routes": {c.value: code for c, code in routes.items()},
        },
        now=now,
    )
    return routing
