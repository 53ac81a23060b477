"""Mass revocation: one admin asks with a preview of the count, a second admin confirms it.

Confirming runs in one request with bulk statements: the matching active passes are locked,
the revocation feed's counter is advanced once by their number (so the feed stays gapless),
and the passes are updated by primary key in one executemany. Two admins confirming at once:
a conditional UPDATE on the status lets exactly one of them run it.
"""

from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select, update

from permits import audit, validators
from permits.extensions import db
from permits.models import (
    Application,
    CargoCategory,
    Enterprise,
    MassRevocation,
    MassRevocationStatus,
    Pass,
    PassStatus,
    Role,
    User,
)
from permits.services import counters, notifications, organisations, two_person
from permits.services import text as typed_text
from permits.services.errors import Conflict, NotAllowed, ValidationFailed

AnySelect = Select[*tuple[Any, ...]]
REASON_MAX = 500
SAMPLE_SIZE = 20
FIELDS_PROBLEM = _l("Some fields need your attention.")


@dataclass(frozen=True)
class Criteria:
    """Which active passes to revoke: every criterion given must match, at least one is given."""

    district: str | None = None
    cargo_category: CargoCategory | None = None
    enterprise: Enterprise | None = None
    issued_from: date | None = None
    issued_until: date | None = None

    def as_details(self) -> dict[str, str]:
        """The criteria given, as text (for the audit log and the pages)."""
        values = {
            "district": self.district,
            "cargo_category": self.cargo_category.value if self.cargo_category else None,
            "enterprise": self.enterprise.uscc if self.enterprise else None,
            "issued_from": self.issued_from.isoformat() if self.issued_from else None,
            "issued_until": self.issued_until.isoformat() if self.issued_until else None,
        }
        return {name: value for name, value in values.items() if value is not None}


def _parse_date(value: str, field: str, problems: dict[str, Any]) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems[field] = _l("Enter a date as YYYY-MM-DD.")
        return None


def parse_criteria(
    *,
    district: str = "",
    cargo_category: str = "",
    uscc: str = "",
    issued_from: str = "",
    issued_until: str = "",
) -> Criteria:
    """Criteria from form input; raises ValidationFailed naming each wrong field."""
    problems: dict[str, Any] = {}
    district = (district or "").strip()
    if district and organisations.district_problem(district):
        problems["district"] = _l("Choose one of the city's districts.")
    cargo: CargoCategory | None = None
    if cargo_category:
        try:
            cargo = CargoCategory(cargo_category)
        except ValueError:
            problems["cargo_category"] = _l("Choose a cargo category from the list.")
    enterprise: Enterprise | None = None
    code = validators.normalize_uscc(uscc or "")[:30]
    if code:
        enterprise = db.session.scalar(select(Enterprise).where(Enterprise.uscc == code))
        if enterprise is None:
            problems["uscc"] = _l("No enterprise is registered with this code.")
    start = _parse_date(issued_from, "issued_from", problems)
    end = _parse_date(issued_until, "issued_until", problems)
    if start and end and start > end:
        problems["issued_until"] = _l("The end of the window is before its start.")
    if problems:
        raise ValidationFailed(FIELDS_PROBLEM, problems)
    criteria = Criteria(district or None, cargo, enterprise, start, end)
    if not criteria.as_details():
        raise ValidationFailed(
            _l("Give at least one criterion."),
            {"district": _l("Give at least one criterion: a district, a cargo category, …")},
        )
    return criteria


def criteria_of(mass: MassRevocation) -> Criteria:
    return Criteria(
        mass.district, mass.cargo_category, mass.enterprise, mass.issued_from, mass.issued_until
    )


def _day_start(day: date) -> datetime:
    """00:00 of a calendar day in the service's time zone (stored times are UTC)."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))


def _where(statement: AnySelect, criteria: Criteria) -> AnySelect:
    statement = statement.where(Pass.status == PassStatus.ACTIVE)
    if criteria.district:
        statement = statement.where(Pass.district == criteria.district)
    if criteria.cargo_category:
        statement = statement.join(Application, Application.id == Pass.application_id).where(
            Application.cargo_category == criteria.cargo_category
        )
    if criteria.enterprise:
        statement = statement.where(Pass.enterprise_id == criteria.enterprise.id)
    if criteria.issued_from:
        statement = statement.where(Pass.issued_at >= _day_start(criteria.issued_from))
    if criteria.issued_until:
        end = _day_start(criteria.issued_until + timedelta(days=1))
        statement = statement.where(Pass.issued_at < end)
    return statement


def count_matching(criteria: Criteria) -> int:
    return int(db.session.scalar(_where(select(func.count(Pass.id)), criteria)) or 0)


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[Pass]


def preview(criteria: Criteria, *, sample_size: int = SAMPLE_SIZE) -> Preview:
    """How many active passes match now, and the first few of them."""
    sample = db.session.scalars(
        _where(select(Pass), criteria).order_by(Pass.id).limit(sample_size)
    ).all()
    return Preview(count_matching(criteria), list(sample))


def _require_admin(actor: User) -> None:
    if actor.role is not Role.ADMIN:
        raise NotAllowed(_l("Only administrators revoke passes in bulk."))


def ask(actor: User, criteria: Criteria, reason: str, *, now: datetime) -> MassRevocation:
    """Records a pending mass revocation and tells the other admins it waits for them."""
    _require_admin(actor)
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise ValidationFailed(
            FIELDS_PROBLEM,
            {"reason": _l("Give the reason for the revocation (at most 500 characters).")},
        )
    typed_text.refuse({"reason": reason}, multiline=True)
    mass = MassRevocation(
        status=MassRevocationStatus.PENDING,
        district=criteria.district,
        cargo_category=criteria.cargo_category,
        enterprise_id=criteria.enterprise.id if criteria.enterprise else None,
        issued_from=criteria.issued_from,
        issued_until=criteria.issued_until,
        reason=reason,
        preview_count=count_matching(criteria),
        requested_by_id=actor.id,
        requested_at=now,
    )
    db.session.add(mass)
    db.session.flush()
    audit.record(
        "mass_revocation.ask",
        actor=actor,
        obj=mass,
        details={"criteria": criteria.as_details(), "count": mass.preview_count},
        now=now,
    )
    others = db.session.scalars(
        select(User).where(User.role == Role.ADMIN, User.is_active.is_(True), User.id != actor.id)
    )
    notifications.notify_users(
        others,
        "mass_revocation_waiting",
        email=False,
        id=mass.id,
        count=mass.preview_count,
        requester=actor.email,
    )
    return mass


def confirm_refusal(user: User, mass: MassRevocation, *, now: datetime) -> str | None:
    """Why this user may not be the second administrator for it (the two-person rule)."""
    return two_person.refusal(
        user, requested_by_id=mass.requested_by_id, requested_at=mass.requested_at, now=now
    )


def can_confirm(user: User, mass: MassRevocation, *, now: datetime) -> bool:
    """A pending one, by an admin who counts as a second person (see two_person)."""
    return (
        mass.status is MassRevocationStatus.PENDING and confirm_refusal(user, mass, now=now) is None
    )


def can_cancel(user: User, mass: MassRevocation) -> bool:
    return user.role is Role.ADMIN and mass.status is MassRevocationStatus.PENDING


def _leave_pending(mass: MassRevocation, target: MassRevocationStatus, **values: Any) -> None:
    """The one conditional UPDATE out of PENDING: of two admins acting at once, one wins."""
    result = db.session.execute(
        update(MassRevocation)
        .where(
            MassRevocation.id == mass.id,
            MassRevocation.status == MassRevocationStatus.PENDING,
        )
        .values(status=target, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(_l("This mass revocation was already confirmed or cancelled."))
    db.session.refresh(mass)


def confirm(actor: User, mass: MassRevocation, *, now: datetime) -> int:
    """A second admin confirms: every matching active pass is revoked now. Returns how many."""
    _require_admin(actor)
    refusal = confirm_refusal(actor, mass, now=now)
    if refusal is not None:
        raise NotAllowed(refusal)
    _leave_pending(mass, MassRevocationStatus.DONE, confirmed_by_id=actor.id, confirmed_at=now)
    criteria = criteria_of(mass)
    # Lock the passes first, then the feed counter: the order a single revocation takes them.
    rows = db.session.execute(
        _where(select(Pass.id, Pass.number, Pass.enterprise_id), criteria)
        .order_by(Pass.id)
        .with_for_update(of=Pass)
    ).all()
    seqs = counters.next_values(db.session(), "revocations", len(rows))
    if rows:
        db.session.execute(
            update(Pass),
            [
                {
                    "id": row.id,
                    "status": PassStatus.REVOKED,
                    "revoked_at": now,
                    "revoked_by_id": actor.id,
                    "revoke_reason": mass.reason,
                    "revocation_seq": seq,
                }
                for row, seq in zip(rows, seqs, strict=True)
            ],
        )
    mass.revoked_count = len(rows)
    db.session.flush()
    details: dict[str, Any] = {
        "criteria": criteria.as_details(),
        "count": len(rows),
        "reason": mass.reason,
        "passes": [row.number for row in rows],
    }
    if rows:
        details["feed"] = f"{seqs[0]}-{seqs[-1]}"
    audit.record("mass_revocation.confirm", actor=actor, obj=mass, details=details, now=now)
    for enterprise_id, count in sorted(Tally(row.enterprise_id for row in rows).items()):
        notifications.notify_users(
            notifications.enterprise_users(enterprise_id),
            "mass_revoked",
            count=count,
            comment=mass.reason,
        )
    db.session.expire_all()  # passes loaded earlier in this session are stale now
    return len(rows)


def cancel(actor: User, mass: MassRevocation, *, now: datetime) -> None:
    """The requester withdraws it, or another admin declines it."""
    _require_admin(actor)
    _leave_pending(mass, MassRevocationStatus.CANCELLED)
    audit.record("mass_revocation.cancel", actor=actor, obj=mass, now=now)


def recent(*, before: int | None = None, limit: int = 25) -> list[MassRevocation]:
    """Newest first, keyset by id."""
    statement = select(MassRevocation).order_by(MassRevocation.id.desc()).limit(limit)
    if before is not None:
        statement = statement.where(MassRevocation.id < before)
    return list(db.session.scalars(statement))
