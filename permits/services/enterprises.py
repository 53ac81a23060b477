"""Enterprises seen by the administration: finding them, and suspending and reinstating them.

A suspension does not touch the passes' own status: verification reads the enterprise's
suspension with the pass, and the revocation feed carries it to offline verifiers by giving the
enterprise's active passes fresh feed positions (again on lift, when they are `reinstated`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from permits import audit, validators
from permits.extensions import db
from permits.models import Application, Enterprise, Pass, PassStatus, User
from permits.services import counters, notifications
from permits.services import text as typed_text
from permits.services.errors import Conflict, ValidationFailed

MAX_REASON = 500
#: Longest search text taken from the list's search box.
MAX_SEARCH = 100


@dataclass(frozen=True)
class EnterprisePage:
    items: list[Enterprise]
    page: int
    has_next: bool


def search(text: str, *, page: int = 1, per_page: int = 25) -> EnterprisePage:
    """Enterprises whose name, USCC or district matches, newest first, one page at a time."""
    text = text.strip()[:MAX_SEARCH]
    page = max(1, min(page, 1000))
    query = select(Enterprise).order_by(Enterprise.id.desc())
    if text:
        query = query.where(
            or_(
                Enterprise.name.icontains(text, autoescape=True),
                Enterprise.uscc == validators.normalize_uscc(text),
                Enterprise.district == text,
            )
        )
    rows = list(db.session.scalars(query.offset((page - 1) * per_page).limit(per_page + 1)))
    return EnterprisePage(rows[:per_page], page, len(rows) > per_page)


def applications_of(enterprise: Enterprise, limit: int = 50) -> list[Application]:
    return list(
        db.session.scalars(
            select(Application)
            .where(Application.enterprise_id == enterprise.id)
            .order_by(Application.id.desc())
            .limit(limit)
        )
    )


def passes_of(enterprise: Enterprise, limit: int = 50) -> list[Pass]:
    return list(
        db.session.scalars(
            select(Pass)
            .where(Pass.enterprise_id == enterprise.id)
            .order_by(Pass.id.desc())
            .limit(limit)
        )
    )


def _live_passes(enterprise: Enterprise, now: datetime) -> list[Pass]:
    """The passes a suspension changes: active and not yet expired."""
    return list(
        db.session.scalars(
            select(Pass)
            .where(
                Pass.enterprise_id == enterprise.id,
                Pass.status == PassStatus.ACTIVE,
                Pass.expires_at > now,
            )
            .order_by(Pass.id)
        )
    )


def _renumber_in_feed(passes: list[Pass]) -> None:
    """Fresh revocation-feed positions, so offline verifiers asking `since` learn the change."""
    if not passes:
        return
    seqs = counters.next_values(db.session(), "revocations", len(passes))
    for seq, issued in zip(seqs, passes, strict=True):
        issued.revocation_seq = seq
    db.session.flush()


def suspend(actor: User, enterprise: Enterprise, reason: str, *, now: datetime) -> int:
    """Suspends the enterprise: its active passes verify as revoked until the suspension is
    lifted. Returns how many passes that stopped."""
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise ValidationFailed(
            _l("Some fields need your attention."),
            {"reason": _l("Give the reason for the suspension (at most 500 characters).")},
        )
    typed_text.refuse({"reason": reason}, multiline=True)
    if enterprise.is_suspended:
        raise Conflict(_l("This enterprise is suspended already."))
    enterprise.suspended_at = now
    enterprise.suspended_reason = reason
    enterprise.suspended_by_id = actor.id
    passes = _live_passes(enterprise, now)
    _renumber_in_feed(passes)
    audit.record(
        "enterprise.suspend",
        actor=actor,
        obj=enterprise,
        details={"reason": reason, "passes": len(passes)},
        now=now,
    )
    notifications.notify_enterprise(enterprise, "enterprise_suspended", comment=reason)
    return len(passes)


def lift_suspension(actor: User, enterprise: Enterprise, *, now: datetime) -> int:
    """Ends the suspension: the active passes are valid again (the feed lists them as
    reinstated). Returns how many passes that concerns."""
    if not enterprise.is_suspended:
        raise Conflict(_l("This enterprise is not suspended."))
    enterprise.suspended_at = None
    enterprise.suspended_reason = None
    enterprise.suspended_by_id = None
    passes = _live_passes(enterprise, now)
    _renumber_in_feed(passes)
    audit.record(
        "enterprise.lift_suspension",
        actor=actor,
        obj=enterprise,
        details={"passes": len(passes)},
        now=now,
    )
    notifications.notify_enterprise(enterprise, "enterprise_reinstated")
    return len(passes)
